package io.infermesh.models.gguf;

import static java.util.Objects.requireNonNull;

import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Converts floats to and from ggml tensor encodings: F32, F16, BF16, Q8_0 and Q4_0, with block
 * layouts and rounding exactly as ggml's reference code ({@code quantize_row_q8_0_ref},
 * {@code quantize_row_q4_0_ref}, {@code dequantize_row_*}), so quantizing here gives the bytes
 * llama.cpp's {@code llama-quantize} would.
 *
 * <pre>
 * Q8_0 block (34 bytes, 32 values):  d: fp16 | qs[32]: int8            x[j] = qs[j] * d
 *   d = max|x| / 127,  qs[j] = roundf(x[j] / d)
 * Q4_0 block (18 bytes, 32 values):  d: fp16 | qs[16]: two nibbles each
 *   x[j]      = ((qs[j] &amp; 0xF) - 8) * d     (j = 0..15, low nibbles)
 *   x[j + 16] = ((qs[j] &gt;&gt; 4)  - 8) * d     (high nibbles)
 *   d = m / -8 where m is the value of largest magnitude,  q = min(15, (int)(x / d + 8.5))
 * </pre>
 *
 * <p>Stateless and thread-safe. Buffers are read and written little-endian from their position,
 * which advances.
 */
public final class TensorCodec {
  private static final int QK = 32;

  private TensorCodec() {}

  /**
   * Encodes {@code count} floats from {@code src[from..]} into {@code dst}.
   *
   * @throws UnsupportedOperationException naming the type if it has no codec
   * @throws IllegalArgumentException if {@code count} is not a whole number of blocks
   * @throws java.nio.BufferOverflowException if {@code dst} has too little room
   */
  public static void quantize(GgmlType type, float[] src, int from, int count, ByteBuffer dst) {
    int bytes = checkedByteSize(type, from, count, src.length);
    ByteBuffer out = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (out.remaining() < bytes) {
      throw new BufferOverflowException();
    }
    switch (type) {
      case F32 -> {
        for (int i = 0; i < count; i++) out.putFloat(src[from + i]);
      }
      case F16 -> {
        for (int i = 0; i < count; i++) out.putShort(Float16.fromFloat(src[from + i]));
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) out.putShort(BFloat16.fromFloat(src[from + i]));
      }
      case Q8_0 -> {
        for (int b = 0; b < count; b += QK) quantizeBlockQ8_0(src, from + b, out);
      }
      case Q4_0 -> {
        for (int b = 0; b < count; b += QK) quantizeBlockQ4_0(src, from + b, out);
      }
      default -> throw new AssertionError(type);
    }
    dst.position(dst.position() + bytes);
  }

  /** Encodes all of {@code src}; see {@link #quantize(GgmlType, float[], int, int, ByteBuffer)}. */
  public static byte[] quantize(GgmlType type, float[] src) {
    byte[] out = new byte[Math.toIntExact(type.byteSize(src.length))];
    quantize(type, src, 0, src.length, ByteBuffer.wrap(out));
    return out;
  }

  /**
   * Decodes {@code count} values from {@code src} into {@code dst[from..]}.
   *
   * @throws UnsupportedOperationException naming the type if it has no codec
   * @throws IllegalArgumentException if {@code count} is not a whole number of blocks
   * @throws java.nio.BufferUnderflowException if {@code src} holds too few bytes
   */
  public static void dequantize(GgmlType type, ByteBuffer src, float[] dst, int from, int count) {
    int bytes = checkedByteSize(type, from, count, dst.length);
    ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (in.remaining() < bytes) {
      throw new BufferUnderflowException();
    }
    int p = in.position();
    switch (type) {
      case F32 -> {
        for (int i = 0; i < count; i++) dst[from + i] = in.getFloat(p + 4 * i);
      }
      case F16 -> {
        for (int i = 0; i < count; i++) dst[from + i] = Float16.toFloat(in.getShort(p + 2 * i));
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) dst[from + i] = BFloat16.toFloat(in.getShort(p + 2 * i));
      }
      case Q8_0 -> {
        for (int b = 0; b < count; b += QK, p += 34) {
          float d = Float16.toFloat(in.getShort(p));
          for (int j = 0; j < QK; j++) {
            dst[from + b + j] = in.get(p + 2 + j) * d;
          }
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < count; b += QK, p += 18) {
          float d = Float16.toFloat(in.getShort(p));
          for (int j = 0; j < QK / 2; j++) {
            int q = in.get(p + 2 + j) & 0xFF;
            dst[from + b + j] = ((q & 0x0F) - 8) * d;
            dst[from + b + j + QK / 2] = ((q >>> 4) - 8) * d;
          }
        }
      }
      default -> throw new AssertionError(type);
    }
    src.position(src.position() + bytes);
  }

  /** Decodes {@code count} values; see {@link #dequantize(GgmlType, ByteBuffer, float[], int, int)}. */
  public static float[] dequantize(GgmlType type, ByteBuffer src, int count) {
    float[] out = new float[count];
    dequantize(type, src, out, 0, count);
    return out;
  }

  /** Bytes of {@code count} values, after checking the type has a codec and the array range. */
  private static int checkedByteSize(GgmlType type, int from, int count, int arrayLength) {
    requireNonNull(type, "type");
    if (!type.hasCodec()) {
      throw new UnsupportedOperationException(
          "ggml type " + type + " (" + type.id() + ") is not supported; supported: F32, F16, BF16, Q8_0, Q4_0");
    }
    Objects.checkFromIndexSize(from, count, arrayLength);
    return Math.toIntExact(type.byteSize(count));
  }

  // y.d = fp16(max|x| / 127); y.qs[j] = roundf(x[j] * (1/d))
  private static void quantizeBlockQ8_0(float[] x, int at, ByteBuffer out) {
    float amax = 0f;
    for (int j = 0; j < QK; j++) {
      amax = Math.max(amax, Math.abs(x[at + j]));
    }
    float d = amax / 127f;
    float id = d != 0f ? 1.0f / d : 0.0f;
    out.putShort(Float16.fromFloat(d));
    for (int j = 0; j < QK; j++) {
      out.put((byte) roundHalfAwayFromZero(x[at + j] * id));
    }
  }

  // d = m / -8 with m the signed value of largest magnitude; nibble = min(15, (int8)(x/d + 8.5))
  private static void quantizeBlockQ4_0(float[] x, int at, ByteBuffer out) {
    float amax = 0f;
    float max = 0f;
    for (int j = 0; j < QK; j++) {
      float v = x[at + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    float d = max / -8f;
    float id = d != 0f ? 1.0f / d : 0.0f;
    out.putShort(Float16.fromFloat(d));
    for (int j = 0; j < QK / 2; j++) {
      float x0 = x[at + j] * id;
      float x1 = x[at + QK / 2 + j] * id;
      int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
      int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
      out.put((byte) (xi0 | (xi1 << 4)));
    }
  }

  /** C's {@code roundf}: halfway cases away from zero (Java's Math.round rounds them up). */
  static float roundHalfAwayFromZero(float x) {
    float a = Math.abs(x);
    float r = (float) Math.floor(a);
    if (a - r >= 0.5f) {
      r += 1f;
    }
    return Math.copySign(r, x);
  }
}
