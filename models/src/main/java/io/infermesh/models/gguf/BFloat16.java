package io.infermesh.models.gguf;

/**
 * bfloat16 conversions, bit-exact with ggml's {@code GGML_FP32_TO_BF16}: round to nearest even,
 * NaNs kept quiet.
 *
 * <p>Stateless and thread-safe.
 */
final class BFloat16 {
  private BFloat16() {}

  static float toFloat(short bf16) {
    return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
  }

  static short fromFloat(float f) {
    int u = Float.floatToRawIntBits(f);
    if ((u & 0x7FFF_FFFF) > 0x7F80_0000) { // NaN: force quiet
      return (short) ((u >>> 16) | 64);
    }
    return (short) ((u + (0x7FFF + ((u >>> 16) & 1))) >>> 16);
  }
}
