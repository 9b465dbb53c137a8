package io.infermesh.models.gguf;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a GGUF version 3 file as a stream: the header first (metadata and the declared tensors,
 * whose offsets it lays out), then each tensor's data in declaration order, whole or in parts, so
 * a model of any size is written without holding it in memory.
 *
 * <pre>{@code
 * try (GgufWriter w = GgufWriter.builder()
 *         .metadata(metadata)
 *         .tensor("token_embd.weight", GgmlType.Q8_0, 64, 512)   // ne0 first
 *         .open(path)) {
 *   w.writeTensor("token_embd.weight", floats);                  // quantized to Q8_0 here
 * }
 * }</pre>
 *
 * <p>The alignment is the metadata's {@code general.alignment} (default 32). {@link #close}
 * fails if a declared tensor was not fully written. The output is a pure function of the
 * metadata, the declarations and the data: writing the same inputs twice gives identical bytes.
 *
 * <p>Not thread-safe: one thread writes.
 */
public final class GgufWriter implements AutoCloseable {
  private static final int BUFFER_SIZE = 1 << 20;

  private final Path path;
  private final FileChannel channel;
  private final List<GgufTensorInfo> tensors;
  private final int alignment;
  private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
  private long written; // bytes handed to the channel
  private long dataStart;
  private int current; // index of the tensor being written
  private long currentDone; // bytes of it written
  private boolean closed;

  private GgufWriter(Path path, FileChannel channel, List<GgufTensorInfo> tensors, int alignment) {
    this.path = path;
    this.channel = channel;
    this.tensors = tensors;
    this.alignment = alignment;
  }

  /** Starts declaring a file: metadata (empty by default), then tensors in order. */
  public static Builder builder() {
    return new Builder();
  }

  /** The declared tensors with the offsets this writer gives them. */
  public List<GgufTensorInfo> tensors() {
    return tensors;
  }

  /**
   * Writes a whole tensor from floats, encoding them to its declared type.
   *
   * @throws IllegalStateException if {@code name} is not the next tensor to write
   * @throws IllegalArgumentException if the value count is not the tensor's element count
   */
  public void writeTensor(String name, float[] values) throws IOException {
    GgufTensorInfo t = begin(name);
    if (currentDone != 0 || values.length != t.elementCount()) {
      throw new IllegalArgumentException(
          "tensor " + name + " has " + t.elementCount() + " elements, got " + values.length
              + (currentDone != 0 ? " after a partial write" : ""));
    }
    writeTensorPart(name, values, 0, values.length);
  }

  /**
   * Writes the next {@code count} values of a tensor (from {@code values[from..]}), encoding them
   * to its declared type; parts go in order and must each hold whole blocks.
   *
   * @throws IllegalStateException if {@code name} is not the tensor being written, or the part
   *     runs past its end
   */
  public void writeTensorPart(String name, float[] values, int from, int count) throws IOException {
    GgufTensorInfo t = begin(name);
    long bytes = t.type().byteSize(count);
    checkRoom(t, bytes);
    Objects.checkFromIndexSize(from, count, values.length);
    int blockBytes = t.type().typeSize();
    int blockValues = t.type().blockSize();
    int perChunk = Math.max(1, BUFFER_SIZE / blockBytes / 2) * blockValues;
    for (int i = 0; i < count; i += perChunk) {
      int n = Math.min(perChunk, count - i);
      ensureRoom((int) t.type().byteSize(n));
      TensorCodec.quantize(t.type(), values, from + i, n, buffer);
    }
    currentDone += bytes;
  }

  /**
   * Writes the next raw, already-encoded bytes of a tensor (all remaining bytes of {@code data}).
   *
   * @throws IllegalStateException if {@code name} is not the tensor being written, or the bytes
   *     run past its end
   */
  public void writeTensorBytes(String name, ByteBuffer data) throws IOException {
    GgufTensorInfo t = begin(name);
    long bytes = data.remaining();
    checkRoom(t, bytes);
    ByteBuffer src = data.duplicate();
    while (src.hasRemaining()) {
      if (!buffer.hasRemaining()) {
        flush();
      }
      int n = Math.min(src.remaining(), buffer.remaining());
      ByteBuffer slice = src.duplicate();
      slice.limit(slice.position() + n);
      buffer.put(slice);
      src.position(src.position() + n);
    }
    data.position(data.limit());
    currentDone += bytes;
  }

  private GgufTensorInfo begin(String name) throws IOException {
    requireNonNull(name, "name");
    if (closed) {
      throw new IllegalStateException("writer for " + path + " is closed");
    }
    if (current < tensors.size() && currentDone == tensors.get(current).byteSize()) {
      current++;
      currentDone = 0;
    }
    if (current >= tensors.size()) {
      throw new IllegalStateException("all declared tensors are written; got more data for " + name);
    }
    GgufTensorInfo t = tensors.get(current);
    if (!t.name().equals(name)) {
      throw new IllegalStateException(
          "tensors must be written in declaration order: expected " + t.name() + ", got " + name);
    }
    if (currentDone == 0) {
      padTo(dataStart + t.offset());
    }
    return t;
  }

  private void checkRoom(GgufTensorInfo t, long bytes) {
    if (currentDone + bytes > t.byteSize()) {
      throw new IllegalStateException(
          "tensor " + t.name() + " holds " + t.byteSize() + " bytes; writing " + bytes + " more after "
              + currentDone + " overflows it");
    }
  }

  private void padTo(long absolute) throws IOException {
    long pos = written + buffer.position();
    if (pos > absolute) {
      throw new AssertionError("layout error: at " + pos + ", expected " + absolute);
    }
    for (long i = pos; i < absolute; i++) {
      if (!buffer.hasRemaining()) {
        flush();
      }
      buffer.put((byte) 0);
    }
  }

  private void ensureRoom(int bytes) throws IOException {
    if (buffer.remaining() < bytes) {
      flush();
    }
    if (buffer.remaining() < bytes) {
      throw new AssertionError("chunk of " + bytes + " bytes exceeds the write buffer");
    }
  }

  private void flush() throws IOException {
    buffer.flip();
    while (buffer.hasRemaining()) {
      written += channel.write(buffer);
    }
    buffer.clear();
  }

  /**
   * Finishes the file.
   *
   * @throws IllegalStateException naming the first declared tensor not fully written
   */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      for (int i = current; i < tensors.size(); i++) {
        GgufTensorInfo t = tensors.get(i);
        long done = i == current ? currentDone : 0;
        if (done != t.byteSize()) {
          throw new IllegalStateException(
              "tensor " + t.name() + " was declared but not fully written (" + done + " of " + t.byteSize() + " bytes) to " + path);
        }
      }
      // Like ggml's writer, pad the last tensor too, so the file size is a multiple of the alignment.
      padTo(GgufFile.alignUp(written + buffer.position(), alignment));
      flush();
    } finally {
      channel.close();
    }
  }

  // ---- header

  private void writeHeader(GgufMetadata metadata) throws IOException {
    putInt(GgufFile.MAGIC);
    putInt(3);
    putLong(tensors.size());
    putLong(metadata.size());
    for (Map.Entry<String, GgufValue> e : metadata.asMap().entrySet()) {
      putString(e.getKey());
      putInt(e.getValue().type().id());
      putValue(e.getValue());
    }
    for (GgufTensorInfo t : tensors) {
      putString(t.name());
      putInt(t.dimensionCount());
      for (long d : t.dims()) {
        putLong(d);
      }
      putInt(t.type().id());
      putLong(t.offset());
    }
    dataStart = GgufFile.alignUp(written + buffer.position(), alignment);
    padTo(dataStart);
  }

  private void putValue(GgufValue v) throws IOException {
    switch (v.type()) {
      case UINT8, INT8 -> put((byte) v.longValue());
      case UINT16, INT16 -> putShort((short) v.longValue());
      case UINT32, INT32 -> putInt((int) v.longValue());
      case UINT64, INT64 -> putLong(v.longValue());
      case FLOAT32 -> putInt(Float.floatToRawIntBits(v.asFloat()));
      case FLOAT64 -> putLong(Double.doubleToRawLongBits(v.asDouble()));
      case BOOL -> put((byte) (v.asBoolean() ? 1 : 0));
      case STRING -> putString(v.asString());
      case ARRAY -> putArray(v);
    }
  }

  @SuppressWarnings("unchecked")
  private void putArray(GgufValue v) throws IOException {
    GgufValueType et = v.elementType();
    putInt(et.id());
    putLong(v.arrayLength());
    Object p = v.payload();
    switch (et) {
      case UINT8, INT8 -> {
        for (byte b : (byte[]) p) put(b);
      }
      case UINT16, INT16 -> {
        for (short s : (short[]) p) putShort(s);
      }
      case UINT32, INT32 -> {
        for (int i : (int[]) p) putInt(i);
      }
      case UINT64, INT64 -> {
        for (long l : (long[]) p) putLong(l);
      }
      case FLOAT32 -> {
        for (float f : (float[]) p) putInt(Float.floatToRawIntBits(f));
      }
      case FLOAT64 -> {
        for (double d : (double[]) p) putLong(Double.doubleToRawLongBits(d));
      }
      case BOOL -> {
        for (boolean b : (boolean[]) p) put((byte) (b ? 1 : 0));
      }
      case STRING -> {
        for (String s : (List<String>) p) putString(s);
      }
      case ARRAY -> {
        for (GgufValue e : (List<GgufValue>) p) putArray(e);
      }
    }
  }

  private void putString(String s) throws IOException {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    putLong(bytes.length);
    int done = 0;
    while (done < bytes.length) {
      if (!buffer.hasRemaining()) {
        flush();
      }
      int n = Math.min(buffer.remaining(), bytes.length - done);
      buffer.put(bytes, done, n);
      done += n;
    }
  }

  private void put(byte b) throws IOException {
    ensureRoom(1);
    buffer.put(b);
  }

  private void putShort(short s) throws IOException {
    ensureRoom(2);
    buffer.putShort(s);
  }

  private void putInt(int i) throws IOException {
    ensureRoom(4);
    buffer.putInt(i);
  }

  private void putLong(long l) throws IOException {
    ensureRoom(8);
    buffer.putLong(l);
  }

  /**
   * Declares what a {@link GgufWriter} will write. Fails fast on duplicate tensor names, bad
   * shapes and metadata whose alignment is not a power of two. Not thread-safe.
   */
  public static final class Builder {
    private GgufMetadata metadata = GgufMetadata.empty();
    private final List<Object[]> declared = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    private Builder() {}

    /** The metadata to write; its {@code general.alignment} sets the data alignment. */
    public Builder metadata(GgufMetadata metadata) {
      this.metadata = requireNonNull(metadata, "metadata");
      return this;
    }

    /**
     * Declares the next tensor.
     *
     * @param dims dimensions, ne0 (the fastest-varying) first
     * @throws IllegalArgumentException on a duplicate name or an invalid shape for the type
     */
    public Builder tensor(String name, GgmlType type, long... dims) {
      requireNonNull(name, "name");
      requireNonNull(type, "type");
      new GgufTensorInfo(name, type, dims, 0); // validates the shape
      if (!names.add(name)) {
        throw new IllegalArgumentException("tensor " + name + " declared twice");
      }
      declared.add(new Object[] {name, type, dims.clone()});
      return this;
    }

    /** The declared tensors with the data offsets {@link #open} will give them. */
    public List<GgufTensorInfo> layout() {
      int alignment = metadata.alignment();
      List<GgufTensorInfo> infos = new ArrayList<>(declared.size());
      long offset = 0;
      for (Object[] d : declared) {
        GgufTensorInfo t = new GgufTensorInfo((String) d[0], (GgmlType) d[1], (long[]) d[2], offset);
        infos.add(t);
        offset = GgufFile.alignUp(offset + t.byteSize(), alignment);
      }
      return Collections.unmodifiableList(infos);
    }

    /**
     * Creates (or truncates) {@code path} and writes the header.
     *
     * @throws IOException if the file cannot be written
     */
    public GgufWriter open(Path path) throws IOException {
      requireNonNull(path, "path");
      int alignment = metadata.alignment();
      List<GgufTensorInfo> infos = layout();
      FileChannel channel =
          FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
      GgufWriter w = new GgufWriter(path, channel, infos, alignment);
      try {
        w.writeHeader(metadata);
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
      return w;
    }
  }
}
