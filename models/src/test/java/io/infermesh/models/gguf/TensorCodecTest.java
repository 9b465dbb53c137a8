package io.infermesh.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TensorCodecTest {
  private static float[] gaussian(int n, long seed, double scale) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
    return v;
  }

  @Test
  void float16_knownValues_matchIeeeHalf() {
    assertThat(Float16.fromFloat(1f)).isEqualTo((short) 0x3C00);
    assertThat(Float16.fromFloat(-2f)).isEqualTo((short) 0xC000);
    assertThat(Float16.fromFloat(65504f)).isEqualTo((short) 0x7BFF);
    assertThat(Float16.fromFloat(65520f)).isEqualTo((short) 0x7C00); // rounds up to infinity
    assertThat(Float16.fromFloat(0x1.0p-24f)).isEqualTo((short) 0x0001); // smallest subnormal
    assertThat(Float16.fromFloat(0x1.0p-26f)).isEqualTo((short) 0x0000); // rounds to zero
    assertThat(Float16.fromFloat(1f + 0x1.0p-11f)).isEqualTo((short) 0x3C00); // tie to even
    assertThat(Float16.fromFloat(1f + 3 * 0x1.0p-11f)).isEqualTo((short) 0x3C02); // tie to even, up
    assertThat(Float16.fromFloat(Float.NaN)).isEqualTo((short) 0x7E00);
    assertThat(Float16.fromFloat(-0f)).isEqualTo((short) 0x8000);
    assertThat(Float16.toFloat((short) 0x3555)).isEqualTo(0.33325195f);
    assertThat(Float16.toFloat((short) 0x0001)).isEqualTo(0x1.0p-24f);
    assertThat(Float16.toFloat((short) 0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
  }

  @Test
  void float16_everyHalfValue_roundTripsExactly() {
    for (int h = 0; h < 0x10000; h++) {
      float f = Float16.toFloat((short) h);
      if (Float.isNaN(f)) continue;
      assertThat(Float16.fromFloat(f) & 0xFFFF).as("0x%04x", h).isEqualTo(h);
    }
  }

  @Test
  void q8_0_block_matchesGgmlLayout() {
    float[] x = new float[32];
    for (int i = 0; i < 32; i++) x[i] = i - 16; // max |x| = 16 -> d = 16/127
    x[5] = -2.5f * 16f / 127f; // exactly -2.5 steps: roundf rounds away from zero to -3
    byte[] block = TensorCodec.quantize(GgmlType.Q8_0, x);
    ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(block).hasSize(34);
    assertThat(b.getShort(0)).isEqualTo(Float16.fromFloat(16f / 127f));
    assertThat(block[2]).isEqualTo((byte) -127); // x[0] = -16
    assertThat(block[2 + 5]).isEqualTo((byte) -3);
    assertThat(block[2 + 16]).isEqualTo((byte) 0);
    assertThat(block[2 + 31]).isEqualTo((byte) 119); // 15 * 127 / 16 = 119.06
  }

  @Test
  void q4_0_block_lowNibblesHoldTheFirstHalf() {
    float[] x = new float[32];
    for (int i = 0; i < 32; i++) x[i] = (i % 16) - 8; // the value of largest magnitude is -8 -> d = 1
    byte[] block = TensorCodec.quantize(GgmlType.Q4_0, x);
    assertThat(block).hasSize(18);
    assertThat(ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getShort(0)).isEqualTo(Float16.fromFloat(1f));
    for (int j = 0; j < 16; j++) {
      int q = block[2 + j] & 0xFF;
      assertThat(q & 0xF).as("low nibble %d", j).isEqualTo(j); // x[j] = j - 8 -> q = j
      assertThat(q >>> 4).as("high nibble %d", j).isEqualTo(j); // x[j + 16] likewise
    }
    assertThat(TensorCodec.dequantize(GgmlType.Q4_0, ByteBuffer.wrap(block), 32)).containsExactly(x);
  }

  @Test
  void q8_0_randomValues_errorWithinHalfAStep() {
    float[] x = gaussian(32 * 256, 7, 3.0);
    float[] y = TensorCodec.dequantize(GgmlType.Q8_0, ByteBuffer.wrap(TensorCodec.quantize(GgmlType.Q8_0, x)), x.length);
    for (int b = 0; b < x.length; b += 32) {
      float amax = 0;
      for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
      float d = Float16.toFloat(Float16.fromFloat(amax / 127f));
      for (int j = 0; j < 32; j++) {
        // half a step, plus the scale's own fp16 rounding over up to 127 steps
        assertThat(y[b + j]).isCloseTo(x[b + j], within(0.5f * d + 127 * d * 0x1.0p-11f + 1e-6f));
      }
    }
  }

  @Test
  void q4_0_randomValues_errorWithinOneStep() {
    float[] x = gaussian(32 * 256, 8, 0.02);
    float[] y = TensorCodec.dequantize(GgmlType.Q4_0, ByteBuffer.wrap(TensorCodec.quantize(GgmlType.Q4_0, x)), x.length);
    double sumSq = 0;
    for (int b = 0; b < x.length; b += 32) {
      float amax = 0;
      for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
      float d = amax / 8f;
      for (int j = 0; j < 32; j++) {
        // one step at most (the clamp of +8 to +7), fp16 scale rounding aside
        assertThat(y[b + j]).isCloseTo(x[b + j], within(d * 1.01f + 1e-7f));
        sumSq += (y[b + j] - x[b + j]) * (double) (y[b + j] - x[b + j]);
      }
    }
    assertThat(Math.sqrt(sumSq / x.length)).isLessThan(0.02 * 0.15);
  }

  @Test
  void quantize_zeroBlock_givesZeroScaleAndZeros() {
    float[] zeros = new float[32];
    for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
      byte[] block = TensorCodec.quantize(type, zeros);
      assertThat(Float16.toFloat(ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getShort(0))).as("%s scale", type).isEqualTo(0f, within(0f));
      for (float v : TensorCodec.dequantize(type, ByteBuffer.wrap(block), 32)) {
        assertThat(v == 0f).as("%s value %s", type, v).isTrue(); // ggml gives -0.0 for Q4_0 (d = 0 / -8)
      }
    }
  }

  @Test
  void bf16_truncatesWithRoundToNearestEven() {
    float[] x = {1f, 1f + 0x1.0p-8f, 1f + 0x1.8p-8f, -3.140625f};
    float[] y = TensorCodec.dequantize(GgmlType.BF16, ByteBuffer.wrap(TensorCodec.quantize(GgmlType.BF16, x)), 4);
    assertThat(y).containsExactly(1f, 1f, 1f + 0x1.0p-7f, -3.140625f);
  }

  @Test
  void codec_unsupportedTypeOrPartialBlock_isRefused() {
    assertThatThrownBy(() -> TensorCodec.quantize(GgmlType.Q6_K, new float[256]))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("Q6_K (14) is not supported");
    assertThatThrownBy(() -> TensorCodec.quantize(GgmlType.Q8_0, new float[31]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("31 elements are not a whole number of Q8_0 blocks of 32");
  }

  @Test
  void roundHalfAwayFromZero_behavesLikeCRoundf() {
    assertThat(TensorCodec.roundHalfAwayFromZero(2.5f)).isEqualTo(3f);
    assertThat(TensorCodec.roundHalfAwayFromZero(-2.5f)).isEqualTo(-3f);
    assertThat(TensorCodec.roundHalfAwayFromZero(0.49999997f)).isEqualTo(0f);
    assertThat(TensorCodec.roundHalfAwayFromZero(-0.5f)).isEqualTo(-1f);
  }
}
