package io.infermesh.models.tiny;

/**
 * SplitMix64 (Steele, Lea and Flood), written out so the tiny models' weights never depend on a
 * JDK's choice of algorithm: the same seed gives the same numbers on every JVM.
 *
 * <p>Not thread-safe: one instance per stream of numbers.
 */
final class SplitMix64 {
  private long state;

  SplitMix64(long seed) {
    this.state = seed;
  }

  long nextLong() {
    long z = (state += 0x9E37_79B9_7F4A_7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }

  /** Mixes a seed with a stream index into an independent seed. */
  static long derive(long seed, long stream) {
    return new SplitMix64(seed ^ (stream * 0xD1B5_4A32_D192_ED03L)).nextLong();
  }
}
