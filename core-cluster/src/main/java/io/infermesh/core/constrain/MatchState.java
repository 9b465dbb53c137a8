package io.infermesh.core.constrain;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Where a {@link ByteGrammar} match stands: its live stacks (canonically ordered, so equal states
 * are equal objects and can key the mask cache) and whether the input so far is a whole sentence.
 * Immutable.
 */
final class MatchState {
  private static final Comparator<ByteGrammar.Frame> ORDER =
      Comparator.<ByteGrammar.Frame>comparingInt(ByteGrammar.Frame::hashCode).thenComparingInt(f -> f.pos);
  final ByteGrammar.Frame[] stacks;
  final boolean accepting;
  /**
   * The state after each byte, filled as walks find them (interned states only; {@code
   * CompiledGrammar#step}). Racy but benign: every writer stores the same value.
   */
  volatile MatchState[] transitions;
  private final int distance;
  private final int hash;

  MatchState(ByteGrammar.Frame[] stacks, boolean accepting) {
    Arrays.sort(stacks, ORDER);
    this.stacks = stacks;
    this.accepting = accepting;
    int d = Integer.MAX_VALUE;
    for (ByteGrammar.Frame f : stacks) {
      d = Math.min(d, f.distance);
    }
    this.distance = accepting ? 0 : d;
    this.hash = Arrays.hashCode(stacks) * 2 + (accepting ? 1 : 0);
  }

  /** The fewest bytes that make the input a whole sentence (0 when it is one). */
  int distance() {
    return distance;
  }

  /** Whether no byte can follow (the sentence is whole and cannot go on). */
  boolean complete() {
    return stacks.length == 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MatchState m && m.hash == hash && m.accepting == accepting && Arrays.equals(m.stacks, stacks);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
