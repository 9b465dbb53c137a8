package io.infermesh.models.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes GGUF bytes by hand, including ones {@link GgufWriter} refuses to produce (bad magic,
 * unknown types, misaligned offsets), for reader tests. Not thread-safe.
 */
final class GgufBytes {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  /** A valid v3 header start: magic, version, counts. */
  static GgufBytes header(long tensorCount, long kvCount) {
    return new GgufBytes().raw("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(3).u64(tensorCount).u64(kvCount);
  }

  GgufBytes raw(byte[] bytes) {
    out.writeBytes(bytes);
    return this;
  }

  GgufBytes u8(int v) {
    out.write(v);
    return this;
  }

  GgufBytes u32(long v) {
    return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
  }

  GgufBytes u64(long v) {
    return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
  }

  GgufBytes f32(float v) {
    return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
  }

  GgufBytes string(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return u64(b.length).raw(b);
  }

  /** A key with a uint32 value. */
  GgufBytes kvU32(String key, long value) {
    return string(key).u32(GgufValueType.UINT32.id()).u32(value);
  }

  /** A tensor info. */
  GgufBytes tensorInfo(String name, int ggmlType, long offset, long... dims) {
    string(name).u32(dims.length);
    for (long d : dims) u64(d);
    return u32(ggmlType).u64(offset);
  }

  /** Zero bytes up to the next multiple of {@code alignment}. */
  GgufBytes pad(int alignment) {
    while (out.size() % alignment != 0) out.write(0);
    return this;
  }

  int size() {
    return out.size();
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }

  Path writeTo(Path path) throws IOException {
    Files.write(path, out.toByteArray());
    return path;
  }
}
