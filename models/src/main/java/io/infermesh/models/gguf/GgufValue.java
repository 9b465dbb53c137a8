package io.infermesh.models.gguf;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value: a scalar, a string, or an array of one element type (arrays may nest).
 *
 * <p>Integer scalars of every width are held as a {@code long} (UINT64 as its raw bits); arrays are
 * held as primitive arrays of the element width, so a 150,000-entry score array costs 600 KB, not
 * 150,000 objects. Accessors convert where no information is lost and otherwise throw {@link
 * IllegalStateException} saying which type the value has and which was expected.
 *
 * <p>Immutable and thread-safe: array accessors return copies, list accessors unmodifiable lists.
 */
public final class GgufValue {
  private final GgufValueType type;
  private final GgufValueType elementType; // ARRAY only
  private final Object value;

  private GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
    this.type = type;
    this.elementType = elementType;
    this.value = value;
  }

  // ---- scalar factories

  /** @throws IllegalArgumentException if {@code v} is outside 0..255 */
  public static GgufValue uint8(int v) {
    return integer(GgufValueType.UINT8, checkRange(v, 0, 0xFF, "uint8"));
  }

  /** @throws IllegalArgumentException if {@code v} is outside -128..127 */
  public static GgufValue int8(int v) {
    return integer(GgufValueType.INT8, checkRange(v, Byte.MIN_VALUE, Byte.MAX_VALUE, "int8"));
  }

  /** @throws IllegalArgumentException if {@code v} is outside 0..65535 */
  public static GgufValue uint16(int v) {
    return integer(GgufValueType.UINT16, checkRange(v, 0, 0xFFFF, "uint16"));
  }

  /** @throws IllegalArgumentException if {@code v} is outside the int16 range */
  public static GgufValue int16(int v) {
    return integer(GgufValueType.INT16, checkRange(v, Short.MIN_VALUE, Short.MAX_VALUE, "int16"));
  }

  /** @throws IllegalArgumentException if {@code v} is outside 0..4294967295 */
  public static GgufValue uint32(long v) {
    return integer(GgufValueType.UINT32, checkRange(v, 0, 0xFFFF_FFFFL, "uint32"));
  }

  /** A signed 32-bit integer. */
  public static GgufValue int32(int v) {
    return integer(GgufValueType.INT32, v);
  }

  /** {@code bits} is read as unsigned: -1 stands for 2^64 - 1. */
  public static GgufValue uint64(long bits) {
    return integer(GgufValueType.UINT64, bits);
  }

  /** A signed 64-bit integer. */
  public static GgufValue int64(long v) {
    return integer(GgufValueType.INT64, v);
  }

  /** A 32-bit float (NaN and infinities allowed). */
  public static GgufValue float32(float v) {
    return new GgufValue(GgufValueType.FLOAT32, null, v);
  }

  /** A 64-bit float. */
  public static GgufValue float64(double v) {
    return new GgufValue(GgufValueType.FLOAT64, null, v);
  }

  /** A boolean, stored as one byte. */
  public static GgufValue bool(boolean v) {
    return new GgufValue(GgufValueType.BOOL, null, v);
  }

  /** A string, stored as UTF-8 (may be empty). */
  public static GgufValue string(String v) {
    return new GgufValue(GgufValueType.STRING, null, requireNonNull(v, "v"));
  }

  private static GgufValue integer(GgufValueType type, long v) {
    return new GgufValue(type, null, v);
  }

  private static long checkRange(long v, long min, long max, String what) {
    if (v < min || v > max) {
      throw new IllegalArgumentException(v + " is out of range for " + what);
    }
    return v;
  }

  // ---- array factories

  /** An array of strings, copied. */
  public static GgufValue stringArray(List<String> values) {
    List<String> copy = List.copyOf(values);
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, copy);
  }

  /** An array of signed 32-bit integers, copied. */
  public static GgufValue int32Array(int[] values) {
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, values.clone());
  }

  /** Values are read as unsigned 32-bit integers. */
  public static GgufValue uint32Array(int[] values) {
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT32, values.clone());
  }

  /** An array of 32-bit floats, copied. */
  public static GgufValue float32Array(float[] values) {
    return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, values.clone());
  }

  /**
   * An array of any element type, from values of exactly that type (for {@link
   * GgufValueType#ARRAY} elements: arrays, which may differ in element type).
   *
   * @throws IllegalArgumentException naming the first element whose type differs
   */
  public static GgufValue array(GgufValueType elementType, List<GgufValue> elements) {
    requireNonNull(elementType, "elementType");
    int n = elements.size();
    for (int i = 0; i < n; i++) {
      GgufValue e = requireNonNull(elements.get(i), "elements[" + i + "]");
      if (e.type != elementType) {
        throw new IllegalArgumentException(
            "element " + i + " has type " + e.describeType() + ", expected " + elementType);
      }
    }
    Object payload =
        switch (elementType) {
          case UINT8, INT8 -> {
            byte[] a = new byte[n];
            for (int i = 0; i < n; i++) a[i] = (byte) elements.get(i).longValue();
            yield a;
          }
          case UINT16, INT16 -> {
            short[] a = new short[n];
            for (int i = 0; i < n; i++) a[i] = (short) elements.get(i).longValue();
            yield a;
          }
          case UINT32, INT32 -> {
            int[] a = new int[n];
            for (int i = 0; i < n; i++) a[i] = (int) elements.get(i).longValue();
            yield a;
          }
          case UINT64, INT64 -> {
            long[] a = new long[n];
            for (int i = 0; i < n; i++) a[i] = elements.get(i).longValue();
            yield a;
          }
          case FLOAT32 -> {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (Float) elements.get(i).value;
            yield a;
          }
          case FLOAT64 -> {
            double[] a = new double[n];
            for (int i = 0; i < n; i++) a[i] = (Double) elements.get(i).value;
            yield a;
          }
          case BOOL -> {
            boolean[] a = new boolean[n];
            for (int i = 0; i < n; i++) a[i] = (Boolean) elements.get(i).value;
            yield a;
          }
          case STRING -> {
            List<String> a = new ArrayList<>(n);
            for (GgufValue e : elements) a.add((String) e.value);
            yield List.copyOf(a);
          }
          case ARRAY -> List.copyOf(elements);
        };
    return new GgufValue(GgufValueType.ARRAY, elementType, payload);
  }

  /** Wraps a payload read from a file without copying; the reader hands over ownership. */
  static GgufValue ofArrayPayload(GgufValueType elementType, Object payload) {
    return new GgufValue(GgufValueType.ARRAY, elementType, payload);
  }

  /** Wraps a scalar read from a file: integers as Long, floats as Float/Double. */
  static GgufValue ofScalar(GgufValueType type, Object value) {
    return new GgufValue(type, null, value);
  }

  // ---- accessors

  /** The value's type; {@link GgufValueType#ARRAY} for arrays, see {@link #elementType()}. */
  public GgufValueType type() {
    return type;
  }

  /**
   * The element type of an array.
   *
   * @throws IllegalStateException if this is not an array
   */
  public GgufValueType elementType() {
    if (type != GgufValueType.ARRAY) {
      throw mismatch("an array");
    }
    return elementType;
  }

  /** Whether this is an array. */
  public boolean isArray() {
    return type == GgufValueType.ARRAY;
  }

  /** A readable type: {@code UINT32}, {@code ARRAY of STRING}. */
  public String describeType() {
    return type == GgufValueType.ARRAY ? "ARRAY of " + elementType : type.name();
  }

  /**
   * An integer scalar of any width as a long.
   *
   * @throws IllegalStateException if this is not an integer, or a UINT64 above {@link
   *     Long#MAX_VALUE}
   */
  public long asLong() {
    if (!type.isInteger()) {
      throw mismatch("an integer");
    }
    long v = longValue();
    if (type == GgufValueType.UINT64 && v < 0) {
      throw new IllegalStateException(
          "value " + Long.toUnsignedString(v) + " of type UINT64 does not fit in a signed 64-bit integer");
    }
    return v;
  }

  /**
   * An integer scalar of any width as an int.
   *
   * @throws IllegalStateException if this is not an integer or does not fit in an int
   */
  public int asInt() {
    long v = asLong();
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new IllegalStateException("value " + v + " of type " + type + " does not fit in an int");
    }
    return (int) v;
  }

  /**
   * A FLOAT32 or FLOAT64 scalar as a float.
   *
   * @throws IllegalStateException if this is not a float
   */
  public float asFloat() {
    return (float) asDouble();
  }

  /** @throws IllegalStateException if this is not a FLOAT32 or FLOAT64 */
  public double asDouble() {
    if (type == GgufValueType.FLOAT32) {
      return (Float) value;
    }
    if (type == GgufValueType.FLOAT64) {
      return (Double) value;
    }
    throw mismatch("FLOAT32");
  }

  /** @throws IllegalStateException if this is not a BOOL */
  public boolean asBoolean() {
    if (type != GgufValueType.BOOL) {
      throw mismatch("BOOL");
    }
    return (Boolean) value;
  }

  /** @throws IllegalStateException if this is not a STRING */
  public String asString() {
    if (type != GgufValueType.STRING) {
      throw mismatch("STRING");
    }
    return (String) value;
  }

  /** Number of elements of an array. @throws IllegalStateException if this is not an array */
  public int arrayLength() {
    return switch (elementType()) {
      case UINT8, INT8 -> ((byte[]) value).length;
      case UINT16, INT16 -> ((short[]) value).length;
      case UINT32, INT32 -> ((int[]) value).length;
      case UINT64, INT64 -> ((long[]) value).length;
      case FLOAT32 -> ((float[]) value).length;
      case FLOAT64 -> ((double[]) value).length;
      case BOOL -> ((boolean[]) value).length;
      case STRING, ARRAY -> ((List<?>) value).size();
    };
  }

  /** An array of strings. @throws IllegalStateException for any other type */
  @SuppressWarnings("unchecked")
  public List<String> asStringList() {
    if (type != GgufValueType.ARRAY || elementType != GgufValueType.STRING) {
      throw mismatch("ARRAY of STRING");
    }
    return (List<String>) value;
  }

  /**
   * An array of integers of any width whose values all fit in an int (UINT32 values above
   * 2^31 - 1 do not).
   *
   * @throws IllegalStateException if this is not such an array
   */
  public int[] asIntArray() {
    if (type != GgufValueType.ARRAY || !elementType.isInteger()) {
      throw mismatch("ARRAY of INT32");
    }
    long[] wide = asLongArray();
    int[] out = new int[wide.length];
    for (int i = 0; i < wide.length; i++) {
      if (wide[i] < Integer.MIN_VALUE || wide[i] > Integer.MAX_VALUE) {
        throw new IllegalStateException(
            "element " + i + " = " + wide[i] + " of an ARRAY of " + elementType + " does not fit in an int");
      }
      out[i] = (int) wide[i];
    }
    return out;
  }

  /**
   * An array of integers of any width, unsigned types widened without sign.
   *
   * @throws IllegalStateException if this is not an integer array, or holds a UINT64 above
   *     {@link Long#MAX_VALUE}
   */
  public long[] asLongArray() {
    if (type != GgufValueType.ARRAY || !elementType.isInteger()) {
      throw mismatch("ARRAY of INT64");
    }
    int n = arrayLength();
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = element(i);
      if (elementType == GgufValueType.UINT64 && out[i] < 0) {
        throw new IllegalStateException(
            "element " + i + " = " + Long.toUnsignedString(out[i]) + " of an ARRAY of UINT64 does not fit in a long");
      }
    }
    return out;
  }

  /** An array of FLOAT32 (or FLOAT64, narrowed). @throws IllegalStateException otherwise */
  public float[] asFloatArray() {
    if (type == GgufValueType.ARRAY && elementType == GgufValueType.FLOAT32) {
      return ((float[]) value).clone();
    }
    if (type == GgufValueType.ARRAY && elementType == GgufValueType.FLOAT64) {
      double[] d = (double[]) value;
      float[] out = new float[d.length];
      for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
      return out;
    }
    throw mismatch("ARRAY of FLOAT32");
  }

  /** An array of FLOAT32 or FLOAT64 as doubles. @throws IllegalStateException otherwise */
  public double[] asDoubleArray() {
    if (type == GgufValueType.ARRAY && elementType == GgufValueType.FLOAT64) {
      return ((double[]) value).clone();
    }
    if (type == GgufValueType.ARRAY && elementType == GgufValueType.FLOAT32) {
      float[] f = (float[]) value;
      double[] out = new double[f.length];
      for (int i = 0; i < f.length; i++) out[i] = f[i];
      return out;
    }
    throw mismatch("ARRAY of FLOAT64");
  }

  /** An array of BOOL. @throws IllegalStateException otherwise */
  public boolean[] asBooleanArray() {
    if (type != GgufValueType.ARRAY || elementType != GgufValueType.BOOL) {
      throw mismatch("ARRAY of BOOL");
    }
    return ((boolean[]) value).clone();
  }

  /** The raw bytes of a UINT8 or INT8 array. @throws IllegalStateException otherwise */
  public byte[] asByteArray() {
    if (type != GgufValueType.ARRAY
        || (elementType != GgufValueType.UINT8 && elementType != GgufValueType.INT8)) {
      throw mismatch("ARRAY of UINT8");
    }
    return ((byte[]) value).clone();
  }

  /**
   * The elements of an array of any type, each as a value.
   *
   * @throws IllegalStateException if this is not an array
   */
  @SuppressWarnings("unchecked")
  public List<GgufValue> elements() {
    GgufValueType et = elementType();
    if (et == GgufValueType.ARRAY) {
      return (List<GgufValue>) value;
    }
    int n = arrayLength();
    List<GgufValue> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(
          switch (et) {
            case FLOAT32 -> float32(((float[]) value)[i]);
            case FLOAT64 -> float64(((double[]) value)[i]);
            case BOOL -> bool(((boolean[]) value)[i]);
            case STRING -> string(((List<String>) value).get(i));
            default -> integer(et, element(i));
          });
    }
    return List.copyOf(out);
  }

  /** Integer element {@code i} widened per the element type's signedness. */
  private long element(int i) {
    return switch (elementType) {
      case UINT8 -> ((byte[]) value)[i] & 0xFFL;
      case INT8 -> ((byte[]) value)[i];
      case UINT16 -> ((short[]) value)[i] & 0xFFFFL;
      case INT16 -> ((short[]) value)[i];
      case UINT32 -> ((int[]) value)[i] & 0xFFFF_FFFFL;
      case INT32 -> ((int[]) value)[i];
      case UINT64, INT64 -> ((long[]) value)[i];
      default -> throw new AssertionError(elementType);
    };
  }

  /** Raw integer bits (UINT64 unchecked). */
  long longValue() {
    return (Long) value;
  }

  /** The payload as stored: boxed scalar, primitive array or list. Package-private for the writer. */
  Object payload() {
    return value;
  }

  private IllegalStateException mismatch(String expected) {
    return new IllegalStateException("has type " + describeType() + ", expected " + expected);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof GgufValue other)) {
      return false;
    }
    return type == other.type
        && elementType == other.elementType
        && Objects.deepEquals(value, other.value);
  }

  @Override
  public int hashCode() {
    return 31 * Objects.hash(type, elementType) + Arrays.deepHashCode(new Object[] {value});
  }

  /** A short rendering for people: long strings and arrays are abbreviated. */
  @Override
  public String toString() {
    return switch (type) {
      case STRING -> quote((String) value, 60);
      case UINT64 -> Long.toUnsignedString(longValue());
      case ARRAY -> {
        int n = arrayLength();
        StringBuilder sb = new StringBuilder("[").append(elementType).append(" x ").append(n);
        List<GgufValue> head = n == 0 ? List.of() : new ArrayList<>();
        if (n > 0) {
          // Render a few leading elements without boxing the whole array.
          int shown = Math.min(n, 5);
          GgufValue prefix = slice(shown);
          head = prefix.elements();
        }
        String sep = ": ";
        for (GgufValue e : head) {
          sb.append(sep).append(e);
          sep = ", ";
        }
        if (n > head.size()) {
          sb.append(", ...");
        }
        yield sb.append(']').toString();
      }
      default -> String.valueOf(value);
    };
  }

  /** The first {@code n} elements of this array. */
  @SuppressWarnings("unchecked")
  private GgufValue slice(int n) {
    Object p =
        switch (elementType) {
          case UINT8, INT8 -> Arrays.copyOf((byte[]) value, n);
          case UINT16, INT16 -> Arrays.copyOf((short[]) value, n);
          case UINT32, INT32 -> Arrays.copyOf((int[]) value, n);
          case UINT64, INT64 -> Arrays.copyOf((long[]) value, n);
          case FLOAT32 -> Arrays.copyOf((float[]) value, n);
          case FLOAT64 -> Arrays.copyOf((double[]) value, n);
          case BOOL -> Arrays.copyOf((boolean[]) value, n);
          case STRING, ARRAY -> ((List<Object>) value).subList(0, n);
        };
    return new GgufValue(GgufValueType.ARRAY, elementType, p);
  }

  private static String quote(String s, int max) {
    String shown = s.length() > max ? s.substring(0, max) + "..." : s;
    return '"' + shown.replace("\\", "\\\\").replace("\n", "\\n").replace("\"", "\\\"") + '"';
  }
}
