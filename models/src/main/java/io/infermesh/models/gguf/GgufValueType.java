package io.infermesh.models.gguf;

/**
 * The metadata value types of GGUF ({@code enum gguf_type}), with their on-disk ids.
 *
 * <p>Immutable and thread-safe.
 */
public enum GgufValueType {
  UINT8(0, 1),
  INT8(1, 1),
  UINT16(2, 2),
  INT16(3, 2),
  UINT32(4, 4),
  INT32(5, 4),
  FLOAT32(6, 4),
  BOOL(7, 1),
  /** A uint64 byte length followed by UTF-8 bytes, not NUL-terminated. */
  STRING(8, -1),
  /** An element type (uint32), a uint64 count, then the elements. */
  ARRAY(9, -1),
  UINT64(10, 8),
  INT64(11, 8),
  FLOAT64(12, 8);

  private final int id;
  private final int size;

  GgufValueType(int id, int size) {
    this.id = id;
    this.size = size;
  }

  /** The id stored in the file. */
  public int id() {
    return id;
  }

  /** Bytes of one value of a fixed-size type; -1 for {@link #STRING} and {@link #ARRAY}. */
  int fixedSize() {
    return size;
  }

  /** Whether values of this type are integers (signed or unsigned, any width). */
  public boolean isInteger() {
    return switch (this) {
      case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
      default -> false;
    };
  }

  /** Whether values of this type are floating point. */
  public boolean isFloat() {
    return this == FLOAT32 || this == FLOAT64;
  }

  /**
   * The type with the given id.
   *
   * @throws IllegalArgumentException naming the id if GGUF defines no such type
   */
  public static GgufValueType fromId(int id) {
    for (GgufValueType type : values()) {
      if (type.id == id) {
        return type;
      }
    }
    throw new IllegalArgumentException("unknown GGUF value type id " + id);
  }
}
