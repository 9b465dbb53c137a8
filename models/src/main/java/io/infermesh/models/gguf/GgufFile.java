package io.infermesh.models.gguf;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An open GGUF file (versions 2 and 3): its metadata, its tensor infos and, on demand, its tensor
 * data.
 *
 * <pre>
 * magic "GGUF" | version u32 | tensor_count u64 | kv_count u64
 * kv_count   x (key: string, type: u32, value)
 * tensor_count x (name: string, n_dims: u32, ne: u64[n_dims], type: u32, offset: u64)
 * padding to general.alignment (default 32)
 * tensor data; each tensor at data_start + offset, offsets aligned
 * </pre>
 *
 * <p>{@link #open} reads and checks the whole header (magic, version, every value, tensor types,
 * alignment, that every tensor lies inside the file) and fails with a {@link GgufFormatException}
 * that names the file, what was being read and at which offset. Tensor data is not read until
 * asked for; each tensor is memory-mapped on its own, so files larger than 2 GiB work.
 *
 * <p>Thread-safe: immutable after {@link #open}; {@link #tensorData} may be called concurrently.
 * Buffers already returned stay valid after {@link #close}.
 */
public final class GgufFile implements AutoCloseable {
  /** "GGUF" read as a little-endian uint32. */
  static final int MAGIC = 0x4655_4747;

  private final Path path;
  private final FileChannel channel;
  private final int version;
  private final GgufMetadata metadata;
  private final List<GgufTensorInfo> tensors;
  private final Map<String, GgufTensorInfo> tensorsByName;
  private final int alignment;
  private final long dataOffset;
  private final long fileSize;

  private GgufFile(
      Path path,
      FileChannel channel,
      int version,
      GgufMetadata metadata,
      List<GgufTensorInfo> tensors,
      int alignment,
      long dataOffset,
      long fileSize) {
    this.path = path;
    this.channel = channel;
    this.version = version;
    this.metadata = metadata;
    this.tensors = Collections.unmodifiableList(tensors);
    Map<String, GgufTensorInfo> byName = new HashMap<>();
    for (GgufTensorInfo t : tensors) {
      byName.put(t.name(), t);
    }
    this.tensorsByName = byName;
    this.alignment = alignment;
    this.dataOffset = dataOffset;
    this.fileSize = fileSize;
  }

  /**
   * Opens and checks {@code path}.
   *
   * @throws GgufFormatException if the file is not a GGUF file this reader supports, or is
   *     truncated or inconsistent
   * @throws IOException if it cannot be read
   */
  public static GgufFile open(Path path) throws IOException {
    requireNonNull(path, "path");
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      return parse(path, channel);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static GgufFile parse(Path path, FileChannel channel) throws IOException {
    GgufInput in = new GgufInput(channel, path);
    if (in.fileSize() < 4) {
      throw in.truncated("magic", 0, 4);
    }
    int magic = in.i32("magic");
    if (magic != MAGIC) {
      throw new GgufFormatException(
          "not a GGUF file: " + path + " starts with " + hex(magic) + ", expected the magic \"GGUF\"");
    }
    long version = in.u32("version");
    if (version != 2 && version != 3) {
      if ((version & 0xFFFF) == 0 && version != 0) {
        throw new GgufFormatException(
            "GGUF file " + path + " is big-endian (version field reads " + version + "); only little-endian files are supported");
      }
      throw new GgufFormatException(
          "unsupported GGUF version " + version + " in " + path + " (supported: 2, 3)");
    }
    long tensorCount = in.count("tensor count");
    long kvCount = in.count("metadata key/value count");

    LinkedHashMap<String, GgufValue> kvs = new LinkedHashMap<>();
    for (long i = 0; i < kvCount; i++) {
      long keyAt = in.position();
      String key = in.string("key of metadata entry " + i);
      long typeAt = in.position();
      long typeId = in.u32("value type of key " + key);
      GgufValueType type;
      try {
        type = GgufValueType.fromId((int) typeId);
      } catch (IllegalArgumentException e) {
        throw new GgufFormatException(
            "corrupt GGUF file " + path + ": key " + key + " has unknown value type id " + typeId + " at offset " + typeAt);
      }
      GgufValue value = in.value(type, "value of key " + key);
      if (kvs.putIfAbsent(key, value) != null) {
        throw new GgufFormatException("corrupt GGUF file " + path + ": duplicate key " + key + " at offset " + keyAt);
      }
    }
    GgufMetadata.Builder mb = GgufMetadata.builder();
    kvs.forEach(mb::put);
    GgufMetadata metadata;
    try {
      metadata = mb.build();
    } catch (IllegalArgumentException e) {
      throw new GgufFormatException("GGUF file " + path + ": " + e.getMessage(), e);
    }
    int alignment = metadata.alignment();

    List<GgufTensorInfo> tensors = new ArrayList<>((int) Math.min(tensorCount, 4096));
    Map<String, Long> seen = new HashMap<>();
    for (long i = 0; i < tensorCount; i++) {
      long infoAt = in.position();
      String name = in.string("name of tensor " + i);
      long nDims = in.u32("dimension count of tensor " + name);
      if (nDims < 1 || nDims > GgufTensorInfo.MAX_DIMS) {
        throw new GgufFormatException(
            "corrupt GGUF file " + path + ": tensor " + name + " has " + nDims
                + " dimensions at offset " + infoAt + "; GGUF allows 1 to " + GgufTensorInfo.MAX_DIMS);
      }
      long[] dims = new long[(int) nDims];
      for (int d = 0; d < nDims; d++) {
        dims[d] = in.count("dimension " + d + " of tensor " + name);
      }
      long typeAt = in.position();
      long typeId = in.u32("ggml type of tensor " + name);
      GgmlType type;
      try {
        type = GgmlType.fromId((int) typeId);
      } catch (IllegalArgumentException e) {
        throw new GgufFormatException(
            "GGUF file " + path + ": tensor " + name + " has unknown ggml type id " + typeId + " at offset " + typeAt);
      }
      long offset = in.count("data offset of tensor " + name);
      if (seen.putIfAbsent(name, infoAt) != null) {
        throw new GgufFormatException("corrupt GGUF file " + path + ": duplicate tensor " + name + " at offset " + infoAt);
      }
      try {
        tensors.add(new GgufTensorInfo(name, type, dims, offset));
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw new GgufFormatException("corrupt GGUF file " + path + ": " + e.getMessage() + " (tensor info at offset " + infoAt + ")", e);
      }
    }

    long dataOffset = alignUp(in.position(), alignment);
    long fileSize = in.fileSize();
    for (GgufTensorInfo t : tensors) {
      if (t.offset() % alignment != 0) {
        throw new GgufFormatException(
            "corrupt GGUF file " + path + ": tensor " + t.name() + " has data offset " + t.offset()
                + ", not a multiple of the alignment " + alignment);
      }
      long size;
      try {
        size = t.byteSize();
      } catch (ArithmeticException e) {
        throw new GgufFormatException("corrupt GGUF file " + path + ": tensor " + t.name() + " is too large", e);
      }
      long end = dataOffset + t.offset() + size;
      if (end < 0 || end > fileSize) {
        throw new GgufFormatException(
            "truncated GGUF file " + path + ": data of tensor " + t.name() + " (" + size + " bytes at file offset "
                + (dataOffset + t.offset()) + ") ends past the end of the file at " + fileSize);
      }
    }
    return new GgufFile(path, channel, (int) version, metadata, tensors, alignment, dataOffset, fileSize);
  }

  static long alignUp(long value, int alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }

  private static String hex(int littleEndianWord) {
    return String.format("0x%02x%02x%02x%02x",
        littleEndianWord & 0xFF, (littleEndianWord >>> 8) & 0xFF, (littleEndianWord >>> 16) & 0xFF, littleEndianWord >>> 24);
  }

  /** The file this was opened from. */
  public Path path() {
    return path;
  }

  /** The format version, 2 or 3. */
  public int version() {
    return version;
  }

  /** All metadata, in file order. */
  public GgufMetadata metadata() {
    return metadata;
  }

  /** Tensor infos in file order. */
  public List<GgufTensorInfo> tensors() {
    return tensors;
  }

  /** The tensor named {@code name}, or empty if the file has none. */
  public Optional<GgufTensorInfo> findTensor(String name) {
    return Optional.ofNullable(tensorsByName.get(name));
  }

  /** @throws IllegalArgumentException {@code no tensor named X in FILE} */
  public GgufTensorInfo tensor(String name) {
    GgufTensorInfo t = tensorsByName.get(requireNonNull(name, "name"));
    if (t == null) {
      throw new IllegalArgumentException("no tensor named " + name + " in " + path);
    }
    return t;
  }

  /** The data alignment in bytes. */
  public int alignment() {
    return alignment;
  }

  /** The absolute file offset where tensor data starts. */
  public long dataOffset() {
    return dataOffset;
  }

  /** The file's size in bytes when opened. */
  public long fileSize() {
    return fileSize;
  }

  /**
   * The raw bytes of one tensor: a read-only, little-endian, memory-mapped buffer positioned at 0.
   *
   * @throws IllegalArgumentException if the tensor is not one of this file's
   * @throws UnsupportedOperationException if the tensor is 2 GiB or larger (use {@link
   *     #tensorData(GgufTensorInfo, long, int)} to map it in parts)
   */
  public ByteBuffer tensorData(GgufTensorInfo tensor) throws IOException {
    checkOwn(tensor);
    long size = tensor.byteSize();
    if (size > Integer.MAX_VALUE) {
      throw new UnsupportedOperationException(
          "tensor " + tensor.name() + " is " + size + " bytes; map it in parts of under 2 GiB");
    }
    return tensorData(tensor, 0, (int) size);
  }

  /**
   * {@code length} bytes of one tensor's data starting {@code from} bytes into it, mapped
   * read-only and little-endian.
   *
   * @throws IndexOutOfBoundsException if the range is not inside the tensor
   */
  public ByteBuffer tensorData(GgufTensorInfo tensor, long from, int length) throws IOException {
    checkOwn(tensor);
    Objects.checkFromIndexSize(from, length, tensor.byteSize());
    return channel
        .map(FileChannel.MapMode.READ_ONLY, dataOffset + tensor.offset() + from, length)
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * The tensor's values as floats.
   *
   * @throws UnsupportedOperationException naming the ggml type if it cannot be dequantized, or if
   *     the tensor has more elements than a Java array holds
   */
  public float[] dequantize(GgufTensorInfo tensor) throws IOException {
    checkOwn(tensor);
    if (!tensor.type().hasCodec()) {
      throw new UnsupportedOperationException(
          "tensor " + tensor.name() + " has ggml type " + tensor.type() + " (" + tensor.type().id()
              + "), which cannot be dequantized; supported: F32, F16, BF16, Q8_0, Q4_0");
    }
    long n = tensor.elementCount();
    if (n > Integer.MAX_VALUE - 8) {
      throw new UnsupportedOperationException("tensor " + tensor.name() + " has " + n + " elements, too many for one float[]");
    }
    return TensorCodec.dequantize(tensor.type(), tensorData(tensor), (int) n);
  }

  /** {@link #dequantize(GgufTensorInfo)} by name. */
  public float[] dequantize(String tensorName) throws IOException {
    return dequantize(tensor(tensorName));
  }

  private void checkOwn(GgufTensorInfo tensor) {
    requireNonNull(tensor, "tensor");
    if (!tensor.equals(tensorsByName.get(tensor.name()))) {
      throw new IllegalArgumentException("tensor " + tensor.name() + " is not a tensor of " + path);
    }
  }

  @Override
  /** Closes the file; buffers from {@link #tensorData} stay readable until collected. */
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return "GgufFile[" + path + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
  }
}
