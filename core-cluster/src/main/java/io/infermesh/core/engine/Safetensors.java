package io.infermesh.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw data. Reads F32, F16 and BF16 as float32.
 * Not thread-safe.
 */
final class Safetensors implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_HEADER = 100L << 20;

  record Entry(String dtype, long[] shape, long begin, long end) {}

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, Entry> entries;

  private Safetensors(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.entries = entries;
  }

  static Safetensors open(Path path) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
    try {
      long size = ch.size();
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long headerLen = lenBuf.flip().getLong();
      if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
        throw new IOException(path + ": not a safetensors file (header length " + headerLen + ", file size " + size + ")");
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLen);
      readFully(ch, header, 8);
      JsonNode root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
      Map<String, Entry> entries = new LinkedHashMap<>();
      long dataLen = size - 8 - headerLen;
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        if (f.getKey().equals("__metadata__")) {
          continue;
        }
        JsonNode n = f.getValue();
        long[] shape = new long[n.path("shape").size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = n.path("shape").get(i).asLong();
        }
        long begin = n.path("data_offsets").path(0).asLong(-1);
        long end = n.path("data_offsets").path(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
          throw new IOException(path + ": tensor " + f.getKey() + " lies outside the file (truncated?)");
        }
        entries.put(f.getKey(), new Entry(n.path("dtype").asText(), shape, begin, end));
      }
      return new Safetensors(path, ch, 8 + headerLen, Collections.unmodifiableMap(entries));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e instanceof IOException io ? io : new IOException(path + ": unreadable safetensors header: " + e.getMessage(), e);
    }
  }

  Map<String, Entry> entries() {
    return entries;
  }

  /** The tensor {@code name} as float32, checking its shape. */
  float[] read(String name, long[] expectedShape) throws IOException {
    Entry e = entries.get(name);
    if (e == null) {
      throw new IOException(path + ": no tensor " + name);
    }
    if (!Arrays.equals(e.shape(), expectedShape)) {
      throw new IOException(path + ": tensor " + name + " has shape " + Arrays.toString(e.shape())
          + ", expected " + Arrays.toString(expectedShape));
    }
    long count = 1;
    for (long d : e.shape()) {
      count *= d;
    }
    int width = switch (e.dtype()) {
      case "F32" -> 4;
      case "F16", "BF16" -> 2;
      default -> throw new IOException(path + ": tensor " + name + " has unsupported dtype " + e.dtype()
          + " (supported: F32, F16, BF16)");
    };
    if (e.end() - e.begin() != count * width) {
      throw new IOException(path + ": tensor " + name + " has " + (e.end() - e.begin()) + " bytes, expected " + count * width);
    }
    if (count > Integer.MAX_VALUE - 8) {
      throw new IOException(path + ": tensor " + name + " is too large for one array");
    }
    float[] out = new float[(int) count];
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(e.end() - e.begin(), 1 << 24)).order(ByteOrder.LITTLE_ENDIAN);
    long pos = dataStart + e.begin();
    int index = 0;
    while (index < out.length) {
      buf.clear();
      long remaining = (long) (out.length - index) * width;
      buf.limit((int) Math.min(buf.capacity(), remaining));
      readFully(channel, buf, pos);
      pos += buf.limit();
      buf.flip();
      switch (e.dtype()) {
        case "F32" -> {
          while (buf.hasRemaining()) {
            out[index++] = buf.getFloat();
          }
        }
        case "F16" -> {
          while (buf.hasRemaining()) {
            out[index++] = halfToFloat(buf.getShort());
          }
        }
        default -> {
          while (buf.hasRemaining()) {
            out[index++] = Float.intBitsToFloat((buf.getShort() & 0xffff) << 16);
          }
        }
      }
    }
    return out;
  }

  /** IEEE 754 binary16 to float32 (Java 17 has no {@code Float.float16ToFloat}). */
  static float halfToFloat(short bits) {
    int h = bits & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13)); // inf / nan
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f; // subnormal (or zero)
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new IOException("unexpected end of file (truncated?)");
      }
      pos += n;
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
