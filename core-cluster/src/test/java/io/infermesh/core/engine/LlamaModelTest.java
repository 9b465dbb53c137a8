package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LlamaModelTest {
  // GQA (4 query heads over 2 KV heads), untied head, odd sizes so layout mistakes show.
  private static final LlamaConfig CONFIG = RandomWeights.config(97, 48, 80, 3, 4, 2, 64, false);
  private static RandomWeights weights;
  private static ReferenceLlama reference;
  private static LlamaModel model;

  @BeforeAll
  static void load() throws Exception {
    weights = new RandomWeights(CONFIG, 7);
    reference = new ReferenceLlama(CONFIG, weights);
    model = LlamaModel.load(CONFIG, LayerRange.all(CONFIG.layers()), weights, Device.cpu(), 256);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void forward_wholePrompt_matchesReference() {
    int[] prompt = {1, 5, 17, 42, 8, 96, 3, 3, 60};
    float[] logits = model.forward(ForwardBatch.contiguous(prompt, 0))[0];
    assertClose(logits, reference.logits(prompt));
  }

  @Test
  void embed_aSequence_matchesReferenceMeanPooling() {
    int[] tokens = {1, 5, 17, 42, 8, 96, 3, 3, 60};

    float[] embedding = model.embed(tokens);

    assertClose(embedding, reference.embedding(tokens));
    double length = 0;
    for (float v : embedding) {
      length += v * v;
    }
    assertThat(length).isCloseTo(1.0, within(1e-4));
  }

  @Test
  void embed_whileSequencesAreCached_leavesTheirKvAlone() {
    int[] seq = {1, 9, 33, 71, 2};
    model.forward(ForwardBatch.contiguous(Arrays.copyOf(seq, 4), 0));
    model.embed(new int[] {7, 7, 7, 7, 7, 7});
    float[] logits = model.forward(ForwardBatch.contiguous(new int[] {seq[4]}, 4))[0];
    assertClose(logits, reference.logits(seq));
  }

  @Test
  void forward_incrementalDecode_matchesReferenceAtEveryPosition() {
    int[] seq = {1, 9, 33, 71, 2, 14, 88, 50};
    model.forward(ForwardBatch.contiguous(Arrays.copyOf(seq, 3), 0));
    for (int pos = 3; pos < seq.length; pos++) {
      float[] logits = model.forward(ForwardBatch.contiguous(new int[] {seq[pos]}, pos))[0];
      assertClose(logits, reference.logits(Arrays.copyOf(seq, pos + 1)));
    }
  }

  @Test
  void forward_mixedBatchWithScatteredSlots_matchesEachSequenceAlone() {
    // sequence A: 4 cached tokens in slots 100..103, decodes one more into slot 140
    int[] a = {1, 4, 9, 16, 25};
    model.forward(new ForwardBatch(Arrays.copyOf(a, 4), new int[] {0, 1, 2, 3}, new long[] {100, 101, 102, 103},
        new int[] {0, 4}, new long[][] {{100, 101, 102, 103}}));
    // sequence B: a fresh 3-token prefill into slots 200, 7, 150, batched with A's decode
    int[] b = {1, 50, 60};
    ForwardBatch batch = new ForwardBatch(
        new int[] {a[4], b[0], b[1], b[2]},
        new int[] {4, 0, 1, 2},
        new long[] {140, 200, 7, 150},
        new int[] {0, 1, 4},
        new long[][] {{100, 101, 102, 103, 140}, {200, 7, 150}});
    float[][] logits = model.forward(batch);
    assertClose(logits[0], reference.logits(a));
    assertClose(logits[1], reference.logits(b));
  }

  @Test
  void step_splitIntoStages_matchesWholeModel() throws Exception {
    int[] prompt = {1, 70, 3, 12};
    float[] whole = model.forward(ForwardBatch.contiguous(prompt, 0))[0];
    try (LlamaModel first = LlamaModel.load(CONFIG, LayerRange.stage(0, 2, 3), weights, Device.cpu(), 64);
        LlamaModel second = LlamaModel.load(CONFIG, LayerRange.stage(1, 2, 3), weights, Device.cpu(), 64)) {
      ForwardBatch batch = ForwardBatch.contiguous(prompt, 0);
      float[] hidden = first.step(batch, null);
      assertThat(hidden).hasSize(prompt.length * CONFIG.dim());
      float[] logits = second.step(batch, hidden);
      assertThat(logits).containsExactly(whole, within(1e-5f));
    }
  }

  private static void assertClose(float[] actual, double[] expected) {
    assertThat(actual).hasSize(expected.length);
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    }
    assertThat(worst).as("max |logit - reference|").isLessThan(1e-4);
  }
}
