package io.infermesh.core.engine;

/**
 * The decoder blocks one engine instance holds: {@code [from, to)} of {@code total}. The whole model
 * is {@code [0, layers)}; a pipeline stage holds a slice. The first slice embeds tokens, the last
 * one runs the final norm and LM head.
 */
public record LayerRange(int from, int to, int total) {

  public LayerRange {
    if (total <= 0 || from < 0 || to > total || from >= to) {
      throw new IllegalArgumentException("bad layer range [" + from + ", " + to + ") of " + total);
    }
  }

  /** Every layer of a model with {@code total} layers. */
  public static LayerRange all(int total) {
    return new LayerRange(0, total, total);
  }

  /**
   * Stage {@code stage} of {@code stages}, layers split as evenly as possible (earlier stages take
   * the remainder).
   */
  public static LayerRange stage(int stage, int stages, int total) {
    if (stages <= 0 || stage < 0 || stage >= stages) {
      throw new IllegalArgumentException("stage " + stage + " of " + stages + " does not exist");
    }
    if (stages > total) {
      throw new IllegalArgumentException("cannot split " + total + " layers into " + stages + " stages");
    }
    int base = total / stages;
    int extra = total % stages;
    int from = stage * base + Math.min(stage, extra);
    int to = from + base + (stage < extra ? 1 : 0);
    return new LayerRange(from, to, total);
  }

  public boolean isFirst() {
    return from == 0;
  }

  public boolean isLast() {
    return to == total;
  }

  public int size() {
    return to - from;
  }
}
