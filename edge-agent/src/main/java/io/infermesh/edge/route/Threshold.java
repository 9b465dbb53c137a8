package io.infermesh.edge.route;

/**
 * The difficulty above which a request escalates. Implementations are thread-safe; {@link
 * #escalate} sees every scored request (so a calibrating threshold can learn the score
 * distribution).
 */
public interface Threshold {
  /** Whether {@code score} escalates; also records the score. */
  boolean escalate(double score);

  /** The current threshold value. */
  double value();

  /** A fixed threshold in {@code [0, 1]}. */
  static Threshold fixed(double value) {
    if (!(value >= 0 && value <= 1)) {
      throw new IllegalArgumentException("threshold must be in [0, 1], got " + value);
    }
    return new Threshold() {
      @Override
      public boolean escalate(double score) {
        return score >= value;
      }

      @Override
      public double value() {
        return value;
      }

      @Override
      public String toString() {
        return "Threshold.fixed(" + value + ")";
      }
    };
  }
}
