package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attention reads per-sequence rows kept across steps ({@link SequenceRows}); whatever the batch
 * does between steps — sequences leaving, joining, moving to another row, a freed slot rewritten
 * by another sequence, a batch too large for the rows — every sequence's logits stay those of the
 * reference computed from scratch.
 */
class SequenceRowsTest {
  private static final LlamaConfig CONFIG = RandomWeights.config(97, 48, 80, 3, 4, 2, 64, false);
  private static ReferenceLlama reference;
  private static LlamaModel model;

  @BeforeAll
  static void load() throws Exception {
    RandomWeights weights = new RandomWeights(CONFIG, 11);
    reference = new ReferenceLlama(CONFIG, weights);
    model = LlamaModel.load(CONFIG, LayerRange.all(CONFIG.layers()), weights, Device.cpu(), 256);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** A sequence: its tokens so far and the KV slot of each position. */
  private static final class Seq {
    final List<Integer> tokens = new ArrayList<>();
    final List<Long> slots = new ArrayList<>();
    int computed;

    Seq(long firstSlot, int... prompt) {
      for (int i = 0; i < prompt.length; i++) {
        tokens.add(prompt[i]);
        slots.add(firstSlot + i);
      }
    }

    void append(int token, long slot) {
      tokens.add(token);
      slots.add(slot);
    }

    int[] allTokens() {
      return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
  }

  /** Runs every uncomputed token of {@code batch} in one step and checks each sequence against the reference. */
  private static void stepAndCheck(Seq... batch) {
    List<Integer> tokens = new ArrayList<>();
    List<Integer> positions = new ArrayList<>();
    List<Long> writes = new ArrayList<>();
    int[] offsets = new int[batch.length + 1];
    long[][] read = new long[batch.length][];
    for (int s = 0; s < batch.length; s++) {
      Seq q = batch[s];
      for (int p = q.computed; p < q.tokens.size(); p++) {
        tokens.add(q.tokens.get(p));
        positions.add(p);
        writes.add(q.slots.get(p));
      }
      offsets[s + 1] = tokens.size();
      read[s] = q.slots.stream().mapToLong(Long::longValue).toArray();
      q.computed = q.tokens.size();
    }
    float[][] logits = model.forward(new ForwardBatch(tokens.stream().mapToInt(Integer::intValue).toArray(),
        positions.stream().mapToInt(Integer::intValue).toArray(), writes.stream().mapToLong(Long::longValue).toArray(),
        offsets, read));
    for (int s = 0; s < batch.length; s++) {
      double[] expected = reference.logits(batch[s].allTokens());
      double worst = 0;
      for (int i = 0; i < expected.length; i++) {
        worst = Math.max(worst, Math.abs(logits[s][i] - expected[i]));
      }
      assertThat(worst).as("sequence %d: max |logit - reference|", s).isLessThan(1e-4);
    }
  }

  @Test
  void step_sequencesLeaveJoinAndMoveRows_matchReference() {
    Seq a = new Seq(0, 1, 5, 9, 13);
    Seq b = new Seq(40, 1, 22, 33);
    stepAndCheck(a, b);
    for (int i = 0; i < 3; i++) {
      a.append(20 + i, 4 + i);
      b.append(60 + i, 43 + i);
      stepAndCheck(a, b);
    }
    b.append(70, 46); // a left: b moves from row 1 to row 0
    stepAndCheck(b);
    Seq c = new Seq(80, 1, 2, 3, 4, 5);
    b.append(71, 47);
    stepAndCheck(c, b); // c takes row 0, b moves back to row 1
    a.append(30, 7); // a comes back into row 2, its rows refilled from the paged cache
    c.append(72, 85);
    b.append(73, 48);
    stepAndCheck(c, b, a);
  }

  @Test
  void step_freedSlotsRewrittenByAnotherSequence_areCopiedAgain() {
    Seq a = new Seq(100, 1, 7, 8, 9, 10);
    stepAndCheck(a); // row 0 holds slots 100..104 with a's keys
    Seq d = new Seq(100, 1, 50, 51, 52, 53); // a is gone; d reuses its slots with other tokens
    Seq[] crowd = new Seq[6];
    crowd[0] = d;
    for (int i = 1; i < crowd.length; i++) {
      crowd[i] = new Seq(220 + 6L * i, 1, 2 + i);
    }
    stepAndCheck(crowd); // too many to fit the rows: gathered, and row 0 still holds a's copy of 100..104
    d.append(54, 105);
    stepAndCheck(d); // d in row 0, the same slot numbers as the stale copy: must be refilled
  }

  @Test
  void step_batchTooLargeForTheRows_gathersThenUsesTheRowsAgain() {
    Seq[] many = new Seq[6];
    for (int i = 0; i < many.length; i++) {
      many[i] = new Seq(160 + 12L * i, 1, 3 + i, 4 + i);
    }
    stepAndCheck(many); // 6 sequences need 8 rows of 64 positions, more than the cache's 256 slots
    many[0].append(40, 163);
    many[1].append(41, 175);
    stepAndCheck(many[0], many[1]); // fits again: rows refilled from what the gathering step wrote
    many[0].append(42, 164);
    many[1].append(43, 176);
    stepAndCheck(many[0], many[1]);
    assertThat(Arrays.stream(many).mapToInt(s -> s.computed).sum()).isEqualTo(6 * 3 + 4);
  }
}
