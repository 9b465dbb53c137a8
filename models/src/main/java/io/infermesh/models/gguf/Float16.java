package io.infermesh.models.gguf;

/**
 * IEEE 754 half precision (binary16) conversions, bit-exact with ggml's
 * {@code GGML_FP32_TO_FP16} / {@code GGML_FP16_TO_FP32}: round to nearest even, overflow to
 * infinity, every NaN to the quiet NaN {@code 0x7E00} (keeping the sign).
 *
 * <p>Stateless and thread-safe.
 */
public final class Float16 {
  private Float16() {}

  /** The float a half-precision bit pattern stands for (exact). */
  public static float toFloat(short half) {
    int h = half & 0xFFFF;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1F;
    int mant = h & 0x3FF;
    if (exp == 0x1F) { // inf or NaN
      return Float.intBitsToFloat(sign | 0x7F80_0000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      // subnormal: mant * 2^-24, exact in float
      float v = mant * 0x1.0p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /**
   * The nearest half-precision bit pattern to {@code f}, ties to even.
   *
   * <p>Same algorithm as ggml's portable path: scaling by 2^112 and back lets the float unit do
   * the rounding, then the bits are repacked.
   */
  public static short fromFloat(float f) {
    final float scaleToInf = 0x1.0p+112f;
    final float scaleToZero = 0x1.0p-110f;
    float base = (Math.abs(f) * scaleToInf) * scaleToZero;
    int w = Float.floatToRawIntBits(f);
    int shl1w = w + w;
    int sign = w & 0x8000_0000;
    int bias = shl1w & 0xFF00_0000;
    if (Integer.compareUnsigned(bias, 0x7100_0000) < 0) {
      bias = 0x7100_0000;
    }
    base = Float.intBitsToFloat((bias >>> 1) + 0x0780_0000) + base;
    int bits = Float.floatToRawIntBits(base);
    int expBits = (bits >>> 13) & 0x7C00;
    int mantissaBits = bits & 0x0FFF;
    int nonsign = expBits + mantissaBits;
    int result = (sign >>> 16) | (Integer.compareUnsigned(shl1w, 0xFF00_0000) > 0 ? 0x7E00 : nonsign);
    return (short) result;
  }
}
