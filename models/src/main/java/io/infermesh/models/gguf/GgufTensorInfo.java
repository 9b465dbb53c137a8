package io.infermesh.models.gguf;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;

/**
 * Where one tensor lives in a GGUF file and what it holds.
 *
 * <p>Dimensions are in ggml order: {@code dims[0]} (ne0) varies fastest, so a weight that maps
 * {@code n_embd} inputs to {@code n_vocab} outputs has dims {@code [n_embd, n_vocab]} and is stored
 * as {@code n_vocab} rows of {@code n_embd} elements.
 *
 * @param name the tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type the element type
 * @param dims the dimensions, ne0 first; one to four entries, each positive
 * @param offset the byte offset of the data from the start of the file's tensor data section
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long offset) {
  /** ggml's limit on tensor dimensions. */
  public static final int MAX_DIMS = 4;

  public GgufTensorInfo {
    requireNonNull(name, "name");
    requireNonNull(type, "type");
    dims = requireNonNull(dims, "dims").clone();
    if (dims.length == 0 || dims.length > MAX_DIMS) {
      throw new IllegalArgumentException(
          "tensor " + name + " has " + dims.length + " dimensions; GGUF allows 1 to " + MAX_DIMS);
    }
    long n = 1;
    for (long d : dims) {
      if (d <= 0) {
        throw new IllegalArgumentException("tensor " + name + " has a non-positive dimension: " + Arrays.toString(dims));
      }
      n = Math.multiplyExact(n, d);
    }
    if (dims[0] % type.blockSize() != 0) {
      throw new IllegalArgumentException(
          "tensor " + name + " has ne0 = " + dims[0] + ", not a multiple of the " + type + " block size " + type.blockSize());
    }
    if (offset < 0) {
      throw new IllegalArgumentException("tensor " + name + " has a negative offset: " + offset);
    }
  }

  /** A copy of the dimensions, ne0 first. */
  @Override
  public long[] dims() {
    return dims.clone();
  }

  /** Dimension {@code i} (0 = ne0), or 1 beyond the stored dimensions, as ggml does. */
  public long dim(int i) {
    return i < dims.length ? dims[i] : 1;
  }

  /** How many dimensions are stored (1 to 4). */
  public int dimensionCount() {
    return dims.length;
  }

  /** Total number of elements. */
  public long elementCount() {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  /** Bytes of tensor data. */
  public long byteSize() {
    return type.byteSize(elementCount());
  }

  /** Elements per row (ne0). */
  public long rowLength() {
    return dims[0];
  }

  /** Number of rows (all dimensions but ne0 multiplied). */
  public long rowCount() {
    return elementCount() / dims[0];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GgufTensorInfo t
        && name.equals(t.name)
        && type == t.type
        && Arrays.equals(dims, t.dims)
        && offset == t.offset;
  }

  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + type.hashCode()) * 31 + Arrays.hashCode(dims) + Long.hashCode(offset);
  }

  @Override
  public String toString() {
    return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
  }
}
