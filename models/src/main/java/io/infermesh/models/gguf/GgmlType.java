package io.infermesh.models.gguf;

import java.util.Locale;

/**
 * The tensor element types of ggml, with the numeric ids GGUF files store and the block layout
 * of each: {@code blockSize} elements are packed into {@code typeSize} bytes.
 *
 * <p>Every type ggml defines is listed so that a reader can describe any file (sizes, offsets,
 * names in error messages); only the types with {@link #hasCodec()} can be quantized and
 * dequantized by {@link TensorCodec}.
 *
 * <p>Immutable and thread-safe.
 */
public enum GgmlType {
  F32(0, 1, 4, true),
  F16(1, 1, 2, true),
  /** Blocks of 32: an fp16 scale {@code d}, then 16 bytes of nibbles; value = (q - 8) * d. */
  Q4_0(2, 32, 18, true),
  Q4_1(3, 32, 20, false),
  Q5_0(6, 32, 22, false),
  Q5_1(7, 32, 24, false),
  /** Blocks of 32: an fp16 scale {@code d}, then 32 signed bytes; value = q * d. */
  Q8_0(8, 32, 34, true),
  Q8_1(9, 32, 36, false),
  Q2_K(10, 256, 84, false),
  Q3_K(11, 256, 110, false),
  Q4_K(12, 256, 144, false),
  Q5_K(13, 256, 176, false),
  Q6_K(14, 256, 210, false),
  Q8_K(15, 256, 292, false),
  IQ2_XXS(16, 256, 66, false),
  IQ2_XS(17, 256, 74, false),
  IQ3_XXS(18, 256, 98, false),
  IQ1_S(19, 256, 50, false),
  IQ4_NL(20, 32, 18, false),
  IQ3_S(21, 256, 110, false),
  IQ2_S(22, 256, 82, false),
  IQ4_XS(23, 256, 136, false),
  I8(24, 1, 1, false),
  I16(25, 1, 2, false),
  I32(26, 1, 4, false),
  I64(27, 1, 8, false),
  F64(28, 1, 8, false),
  IQ1_M(29, 256, 56, false),
  BF16(30, 1, 2, true),
  TQ1_0(34, 256, 54, false),
  TQ2_0(35, 256, 66, false);

  private static final GgmlType[] BY_ID = new GgmlType[64];

  static {
    for (GgmlType type : values()) {
      BY_ID[type.id] = type;
    }
  }

  private final int id;
  private final int blockSize;
  private final int typeSize;
  private final boolean codec;

  GgmlType(int id, int blockSize, int typeSize, boolean codec) {
    this.id = id;
    this.blockSize = blockSize;
    this.typeSize = typeSize;
    this.codec = codec;
  }

  /** The id stored in GGUF tensor infos ({@code enum ggml_type}). */
  public int id() {
    return id;
  }

  /** Elements per block; 1 for the plain float and integer types. */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int typeSize() {
    return typeSize;
  }

  /** Whether {@link TensorCodec} can quantize to and dequantize from this type. */
  public boolean hasCodec() {
    return codec;
  }

  /** Whether this is a block-quantized type (block size above one). */
  public boolean isQuantized() {
    return blockSize > 1;
  }

  /** The lower-case name llama.cpp prints and file names use, e.g. {@code q8_0}. */
  public String lowerCaseName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Bytes needed for {@code elements} elements.
   *
   * @throws IllegalArgumentException if {@code elements} is negative or not a whole number of
   *     blocks
   */
  public long byteSize(long elements) {
    if (elements < 0) {
      throw new IllegalArgumentException("element count must not be negative: " + elements);
    }
    if (elements % blockSize != 0) {
      throw new IllegalArgumentException(
          elements + " elements are not a whole number of " + this + " blocks of " + blockSize);
    }
    return Math.multiplyExact(elements / blockSize, (long) typeSize);
  }

  /**
   * The type with the given GGUF id.
   *
   * @throws IllegalArgumentException naming the id if ggml defines no such type
   */
  public static GgmlType fromId(int id) {
    GgmlType type = id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    if (type == null) {
      throw new IllegalArgumentException("unknown ggml type id " + id);
    }
    return type;
  }

  /**
   * The type named {@code name}, case-insensitively ({@code "q8_0"}, {@code "F32"}).
   *
   * @throws IllegalArgumentException listing the known names if none matches
   */
  public static GgmlType fromName(String name) {
    for (GgmlType type : values()) {
      if (type.name().equalsIgnoreCase(name)) {
        return type;
      }
    }
    throw new IllegalArgumentException("unknown ggml type '" + name + "'");
  }
}
