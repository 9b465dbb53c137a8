package io.infermesh.models.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Sequential little-endian reads of a GGUF header through positional channel reads, so files of
 * any size work. Every read names what it reads; running out of file throws a {@link
 * GgufFormatException} with that name, the offset and the file size.
 *
 * <p>Not thread-safe: one instance per parse.
 */
final class GgufInput {
  private static final int BUFFER_SIZE = 1 << 16;

  private final FileChannel channel;
  private final Path path;
  private final long fileSize;
  private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
  private long bufferStart; // file offset of buffer index 0

  GgufInput(FileChannel channel, Path path) throws IOException {
    this.channel = channel;
    this.path = path;
    this.fileSize = channel.size();
    buffer.limit(0);
  }

  long position() {
    return bufferStart + buffer.position();
  }

  long fileSize() {
    return fileSize;
  }

  /** Makes {@code n} (at most the buffer size) bytes available or throws naming {@code what}. */
  private void require(int n, String what) throws IOException {
    if (buffer.remaining() >= n) {
      return;
    }
    long pos = position();
    if (pos + n > fileSize) {
      throw truncated(what, pos, n);
    }
    buffer.compact(); // buffer[0, rem) now holds file[pos, pos + rem)
    bufferStart = pos;
    while (buffer.position() < n) {
      int r = channel.read(buffer, pos + buffer.position());
      if (r < 0) {
        throw truncated(what, pos, n);
      }
    }
    buffer.flip();
  }

  GgufFormatException truncated(String what, long offset, long needed) {
    return new GgufFormatException(
        "truncated GGUF file "
            + path
            + ": reading "
            + what
            + " at offset "
            + offset
            + " needs "
            + needed
            + " bytes, but the file ends at "
            + fileSize);
  }

  int u8(String what) throws IOException {
    require(1, what);
    return buffer.get() & 0xFF;
  }

  int i8(String what) throws IOException {
    require(1, what);
    return buffer.get();
  }

  int u16(String what) throws IOException {
    require(2, what);
    return buffer.getShort() & 0xFFFF;
  }

  int i16(String what) throws IOException {
    require(2, what);
    return buffer.getShort();
  }

  long u32(String what) throws IOException {
    require(4, what);
    return buffer.getInt() & 0xFFFF_FFFFL;
  }

  int i32(String what) throws IOException {
    require(4, what);
    return buffer.getInt();
  }

  long i64(String what) throws IOException {
    require(8, what);
    return buffer.getLong();
  }

  /** A uint64 used as a count or size: values above {@link Long#MAX_VALUE} are corrupt. */
  long count(String what) throws IOException {
    long pos = position();
    long v = i64(what);
    if (v < 0) {
      throw new GgufFormatException(
          "corrupt GGUF file " + path + ": " + what + " at offset " + pos + " is " + Long.toUnsignedString(v));
    }
    return v;
  }

  float f32(String what) throws IOException {
    require(4, what);
    return buffer.getFloat();
  }

  double f64(String what) throws IOException {
    require(8, what);
    return buffer.getDouble();
  }

  String string(String what) throws IOException {
    long pos = position();
    long len = count("length of " + what);
    if (len > fileSize - position()) {
      throw truncated(what + " (a string of " + len + " bytes)", pos + 8, len);
    }
    if (len > Integer.MAX_VALUE - 8) {
      throw new GgufFormatException("GGUF file " + path + ": " + what + " at offset " + pos + " is too long: " + len + " bytes");
    }
    byte[] bytes = new byte[(int) len];
    readFully(bytes, what);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private void readFully(byte[] dst, String what) throws IOException {
    int done = 0;
    while (done < dst.length) {
      int chunk = Math.min(dst.length - done, BUFFER_SIZE);
      require(chunk, what);
      buffer.get(dst, done, chunk);
      done += chunk;
    }
  }

  /** Checks that {@code count} elements of at least {@code minSize} bytes each can still follow. */
  void requireElements(long count, int minSize, String what) throws IOException {
    long remaining = fileSize - position();
    if (count > remaining / minSize) {
      long needed = count > Long.MAX_VALUE / minSize ? Long.MAX_VALUE : count * minSize;
      throw truncated(what + " (" + count + " elements)", position(), needed);
    }
    if (count > Integer.MAX_VALUE - 8) {
      throw new GgufFormatException("GGUF file " + path + ": " + what + " has too many elements: " + count);
    }
  }

  /** Reads one metadata value of {@code type}. */
  GgufValue value(GgufValueType type, String what) throws IOException {
    return switch (type) {
      case UINT8 -> GgufValue.ofScalar(type, (long) u8(what));
      case INT8 -> GgufValue.ofScalar(type, (long) i8(what));
      case UINT16 -> GgufValue.ofScalar(type, (long) u16(what));
      case INT16 -> GgufValue.ofScalar(type, (long) i16(what));
      case UINT32 -> GgufValue.ofScalar(type, u32(what));
      case INT32 -> GgufValue.ofScalar(type, (long) i32(what));
      case UINT64, INT64 -> GgufValue.ofScalar(type, i64(what));
      case FLOAT32 -> GgufValue.ofScalar(type, f32(what));
      case FLOAT64 -> GgufValue.ofScalar(type, f64(what));
      case BOOL -> GgufValue.ofScalar(type, u8(what) != 0);
      case STRING -> GgufValue.ofScalar(type, string(what));
      case ARRAY -> array(what);
    };
  }

  private GgufValue array(String what) throws IOException {
    long typePos = position();
    long typeId = u32("element type of " + what);
    GgufValueType et;
    try {
      et = GgufValueType.fromId((int) typeId);
    } catch (IllegalArgumentException e) {
      throw new GgufFormatException(
          "corrupt GGUF file " + path + ": " + what + " has unknown element type id " + typeId + " at offset " + typePos);
    }
    long n = count("length of " + what);
    int minSize = et.fixedSize() > 0 ? et.fixedSize() : (et == GgufValueType.STRING ? 8 : 12);
    requireElements(n, minSize, what);
    int count = (int) n;
    String elements = "elements of " + what;
    Object payload =
        switch (et) {
          case UINT8, INT8 -> {
            byte[] a = new byte[count];
            readFully(a, elements);
            yield a;
          }
          case UINT16, INT16 -> {
            short[] a = new short[count];
            for (int i = 0; i < count; i++) a[i] = (short) i16(elements);
            yield a;
          }
          case UINT32, INT32 -> {
            int[] a = new int[count];
            for (int i = 0; i < count; i++) a[i] = i32(elements);
            yield a;
          }
          case UINT64, INT64 -> {
            long[] a = new long[count];
            for (int i = 0; i < count; i++) a[i] = i64(elements);
            yield a;
          }
          case FLOAT32 -> {
            float[] a = new float[count];
            for (int i = 0; i < count; i++) a[i] = f32(elements);
            yield a;
          }
          case FLOAT64 -> {
            double[] a = new double[count];
            for (int i = 0; i < count; i++) a[i] = f64(elements);
            yield a;
          }
          case BOOL -> {
            boolean[] a = new boolean[count];
            for (int i = 0; i < count; i++) a[i] = u8(elements) != 0;
            yield a;
          }
          case STRING -> {
            List<String> a = new ArrayList<>(count);
            for (int i = 0; i < count; i++) a.add(string("element " + i + " of " + what));
            yield Collections.unmodifiableList(a);
          }
          case ARRAY -> {
            List<GgufValue> a = new ArrayList<>(count);
            for (int i = 0; i < count; i++) a.add(array("element " + i + " of " + what));
            yield Collections.unmodifiableList(a);
          }
        };
    return GgufValue.ofArrayPayload(et, payload);
  }
}
