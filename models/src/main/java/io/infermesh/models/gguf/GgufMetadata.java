package io.infermesh.models.gguf;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;

/**
 * The key/value metadata of a GGUF file, in file order, with typed getters whose errors name the
 * key: {@code key llama.block_count missing}, {@code key llama.block_count has type STRING,
 * expected UINT32}.
 *
 * <p>Integer getters accept any integer width whose value fits (files differ on UINT32 versus
 * INT32); float getters accept FLOAT32 and FLOAT64. Nothing else is converted: a string is never
 * parsed as a number.
 *
 * <p>Immutable and thread-safe. Build one with {@link #builder()}.
 */
public final class GgufMetadata {
  /** The key holding the tensor data alignment. */
  public static final String ALIGNMENT_KEY = "general.alignment";

  /** The alignment GGUF uses when {@value #ALIGNMENT_KEY} is absent. */
  public static final int DEFAULT_ALIGNMENT = 32;

  private final Map<String, GgufValue> values;

  private GgufMetadata(Map<String, GgufValue> values) {
    this.values = Collections.unmodifiableMap(values);
  }

  /** An empty builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Metadata with no keys. */
  public static GgufMetadata empty() {
    return new GgufMetadata(new LinkedHashMap<>());
  }

  /** The keys in file order. */
  public Set<String> keys() {
    return values.keySet();
  }

  /** All entries in file order. */
  public Map<String, GgufValue> asMap() {
    return values;
  }

  /** Number of keys. */
  public int size() {
    return values.size();
  }

  /** Whether {@code key} is present, whatever its type. */
  public boolean contains(String key) {
    return values.containsKey(key);
  }

  /** The value at {@code key}, or empty. */
  public Optional<GgufValue> find(String key) {
    return Optional.ofNullable(values.get(key));
  }

  /** @throws IllegalArgumentException {@code key K missing} */
  public GgufValue get(String key) {
    GgufValue v = values.get(requireNonNull(key, "key"));
    if (v == null) {
      throw new IllegalArgumentException("key " + key + " missing");
    }
    return v;
  }

  /** @throws IllegalArgumentException if missing or not a STRING */
  public String getString(String key) {
    return convert(key, get(key), GgufValue::asString);
  }

  /** @throws IllegalArgumentException if missing, not an integer, or outside the int range */
  public int getInt(String key) {
    return convert(key, get(key), GgufValue::asInt);
  }

  /** @throws IllegalArgumentException if missing or not an integer that fits a long */
  public long getLong(String key) {
    return convert(key, get(key), GgufValue::asLong);
  }

  /** @throws IllegalArgumentException if missing or not a FLOAT32/FLOAT64 */
  public float getFloat(String key) {
    return convert(key, get(key), GgufValue::asFloat);
  }

  /** @throws IllegalArgumentException if missing or not a BOOL */
  public boolean getBoolean(String key) {
    return convert(key, get(key), GgufValue::asBoolean);
  }

  /** @throws IllegalArgumentException if missing or not an ARRAY of STRING */
  public List<String> getStringArray(String key) {
    return convert(key, get(key), GgufValue::asStringList);
  }

  /** @throws IllegalArgumentException if missing or not an ARRAY of FLOAT32/FLOAT64 */
  public float[] getFloatArray(String key) {
    return convert(key, get(key), GgufValue::asFloatArray);
  }

  /** @throws IllegalArgumentException if missing, not an integer array, or a value overflows int */
  public int[] getIntArray(String key) {
    return convert(key, get(key), GgufValue::asIntArray);
  }

  /** The string at {@code key} if present. @throws IllegalArgumentException if not a STRING */
  public Optional<String> findString(String key) {
    return find(key).map(v -> convert(key, v, GgufValue::asString));
  }

  /** The integer at {@code key} if present. @throws IllegalArgumentException if not an int */
  public OptionalInt findInt(String key) {
    GgufValue v = values.get(key);
    return v == null ? OptionalInt.empty() : OptionalInt.of(convert(key, v, GgufValue::asInt));
  }

  /** The float at {@code key} if present. @throws IllegalArgumentException if not a float */
  public Optional<Float> findFloat(String key) {
    return find(key).map(v -> convert(key, v, GgufValue::asFloat));
  }

  /** The boolean at {@code key} if present. @throws IllegalArgumentException if not a BOOL */
  public Optional<Boolean> findBoolean(String key) {
    return find(key).map(v -> convert(key, v, GgufValue::asBoolean));
  }

  /**
   * The tensor data alignment: {@value #ALIGNMENT_KEY}, or {@value #DEFAULT_ALIGNMENT} if absent.
   *
   * @throws IllegalArgumentException if present but not a positive power of two
   */
  public int alignment() {
    OptionalInt a = findInt(ALIGNMENT_KEY);
    if (a.isEmpty()) {
      return DEFAULT_ALIGNMENT;
    }
    int v = a.getAsInt();
    if (v <= 0 || Integer.bitCount(v) != 1) {
      throw new IllegalArgumentException(
          "key " + ALIGNMENT_KEY + " is " + v + ", expected a positive power of two");
    }
    return v;
  }

  /** A builder holding these entries, to derive changed metadata. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.values.putAll(values);
    return b;
  }

  private static <T> T convert(String key, GgufValue value, Function<GgufValue, T> accessor) {
    try {
      return accessor.apply(value);
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException("key " + key + " " + e.getMessage(), e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GgufMetadata other && values.equals(other.values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return "GgufMetadata" + values;
  }

  /**
   * Collects entries in insertion order, which is the order they are written. Not thread-safe.
   */
  public static final class Builder {
    private final LinkedHashMap<String, GgufValue> values = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Sets {@code key}, keeping its first position if it was already set.
     *
     * @throws IllegalArgumentException if the key is empty
     */
    public Builder put(String key, GgufValue value) {
      requireNonNull(key, "key");
      requireNonNull(value, "value");
      if (key.isEmpty()) {
        throw new IllegalArgumentException("metadata key must not be empty");
      }
      values.put(key, value);
      return this;
    }

    /** Sets a STRING. */
    public Builder putString(String key, String value) {
      return put(key, GgufValue.string(value));
    }

    /** Sets a UINT32. @throws IllegalArgumentException if outside 0..2^32-1 */
    public Builder putUInt32(String key, long value) {
      return put(key, GgufValue.uint32(value));
    }

    /** Sets a FLOAT32. */
    public Builder putFloat32(String key, float value) {
      return put(key, GgufValue.float32(value));
    }

    /** Sets a BOOL. */
    public Builder putBool(String key, boolean value) {
      return put(key, GgufValue.bool(value));
    }

    /** Removes {@code key} if present. */
    public Builder remove(String key) {
      values.remove(key);
      return this;
    }

    /** The metadata. @throws IllegalArgumentException if {@code general.alignment} is not a power of two */
    public GgufMetadata build() {
      GgufMetadata m = new GgufMetadata(new LinkedHashMap<>(values));
      m.alignment(); // validate early
      return m;
    }
  }
}
