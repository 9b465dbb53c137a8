package io.infermesh.core.engine;

/**
 * Rotary-frequency scaling schemes, applied once when a model is loaded. Unknown schemes fail
 * loudly rather than silently producing a different model.
 */
final class RopeScaling {
  private RopeScaling() {}

  /** Position interpolation: every frequency divided by {@code factor}. */
  static double[] linear(double[] inv, double factor) {
    double[] out = inv.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] = inv[i] / factor;
    }
    return out;
  }

  /**
   * Llama 3.1 scaling: long wavelengths divided by {@code factor}, short ones kept, a smooth blend
   * between.
   */
  static double[] llama3(double[] inv, double factor, double lowFreqFactor, double highFreqFactor, int originalContext) {
    double lowFreqWavelen = originalContext / lowFreqFactor;
    double highFreqWavelen = originalContext / highFreqFactor;
    double[] out = new double[inv.length];
    for (int i = 0; i < inv.length; i++) {
      double wavelen = 2 * Math.PI / inv[i];
      if (wavelen < highFreqWavelen) {
        out[i] = inv[i];
      } else if (wavelen > lowFreqWavelen) {
        out[i] = inv[i] / factor;
      } else {
        double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        out[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
      }
    }
    return out;
  }

  /** GGUF's {@code rope_freqs} tensor: per-frequency divisors. */
  static double[] divide(double[] inv, float[] factors) {
    if (factors.length != inv.length) {
      throw new IllegalArgumentException("rope_freqs has " + factors.length + " entries, expected " + inv.length);
    }
    double[] out = new double[inv.length];
    for (int i = 0; i < inv.length; i++) {
      out[i] = inv[i] / factors[i];
    }
    return out;
  }
}
