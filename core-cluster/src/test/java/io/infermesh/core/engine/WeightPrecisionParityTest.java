package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Half-precision weights against the float32 path on the same weights (real DJL, real GGUF):
 * greedy tokens equal, and every logit within {@link #MAX_ABS_LOGIT_DIFF} with the same top
 * {@link #TOP_K} in the same order, except tokens whose float32 logits tie within twice that
 * (random weights put many logits close together: such a pair may swap). The tolerance is the one the core-cluster README documents:
 * float16 keeps 11 significant bits, so each weight moves by at most 2^-12 of itself; measured on
 * these models the largest logit difference is about a tenth of it.
 */
class WeightPrecisionParityTest {
  static final double MAX_ABS_LOGIT_DIFF = 0.02;
  static final int TOP_K = 5;
  private static final int GREEDY_TOKENS = 24;

  private static GgufCheckpoint checkpoint;
  private static LlamaModel f32;
  private static LlamaModel f16;
  private static LlamaModel f16Decode;
  private static LlamaModel tiedF32;
  private static LlamaModel tiedF16;

  @BeforeAll
  static void load() throws Exception {
    Path file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), Files.createTempDirectory("precision"));
    checkpoint = GgufCheckpoint.open(file);
    LlamaConfig c = checkpoint.config();
    f32 = LlamaModel.load(c, LayerRange.all(c.layers()), checkpoint, Device.cpu(), 512, WeightPrecision.FLOAT32);
    f16 = LlamaModel.load(c, LayerRange.all(c.layers()), checkpoint, Device.cpu(), 512, WeightPrecision.FLOAT16);
    f16Decode = LlamaModel.load(c, LayerRange.all(c.layers()), checkpoint, Device.cpu(), 512,
        WeightPrecision.FLOAT16_DECODE);
    // tied embeddings: the head is a half copy of the float32 embedding rows
    LlamaConfig tied = RandomWeights.config(97, 48, 80, 3, 4, 2, 64, true);
    RandomWeights weights = new RandomWeights(tied, 11);
    tiedF32 = LlamaModel.load(tied, LayerRange.all(3), weights, Device.cpu(), 128, WeightPrecision.FLOAT32);
    tiedF16 = LlamaModel.load(tied, LayerRange.all(3), weights, Device.cpu(), 128, WeightPrecision.FLOAT16);
  }

  @AfterAll
  static void close() throws Exception {
    for (LlamaModel m : new LlamaModel[] {f32, f16, f16Decode, tiedF32, tiedF16}) {
      if (m != null) {
        m.close();
      }
    }
    if (checkpoint != null) {
      checkpoint.close();
    }
  }

  @Test
  void greedy_coreModel_sameTokensAsFloat32() {
    int[] prompt = {1, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100};

    List<Integer> reference = TestModels.greedy(f32, prompt, GREEDY_TOKENS);

    assertThat(f16.precision()).isEqualTo(WeightPrecision.FLOAT16);
    assertThat(TestModels.greedy(f16, prompt, GREEDY_TOKENS)).isEqualTo(reference);
    assertThat(TestModels.greedy(f16Decode, prompt, GREEDY_TOKENS)).isEqualTo(reference);
  }

  @Test
  void float16Decode_stepsWiderThanHalfRows_areExactlyFloat32AndNarrowOnesWithinTolerance() {
    // HALF_ROWS + 1 one-token sequences: every matmul, the head's included, has too many rows for the half copy
    int n = LlamaWeights.HALF_ROWS + 1;
    int[] tokens = IntStream.range(0, n).map(i -> 40 + i).toArray();
    long[] slots = IntStream.range(0, n).mapToLong(i -> 200 + i).toArray();
    ForwardBatch wide = new ForwardBatch(tokens, new int[n], slots, IntStream.rangeClosed(0, n).toArray(),
        Arrays.stream(slots).mapToObj(slot -> new long[] {slot}).toArray(long[][]::new));

    float[][] wideLogits = f16Decode.forward(wide);
    float[][] reference = f32.forward(wide);

    for (int s = 0; s < n; s++) {
      assertThat(wideLogits[s]).containsExactly(reference[s]);
    }
    float[] narrow = f16Decode.forward(ForwardBatch.contiguous(new int[] {1, 40}, 0))[0];
    float[] narrowReference = f32.forward(ForwardBatch.contiguous(new int[] {1, 40}, 0))[0];
    assertThat(narrow).isNotEqualTo(narrowReference); // the half copy ran
    assertNear(narrow, narrowReference);
  }

  @Test
  void logits_prefillAndDecode_withinToleranceWithTheSameTopK() {
    int[] seq = {1, 84, 104, 101, 32, 113, 117, 105, 99, 107, 32, 98, 114, 111, 119, 110};
    int prefill = 10;

    assertNear(f16.forward(ForwardBatch.contiguous(Arrays.copyOf(seq, prefill), 0))[0],
        f32.forward(ForwardBatch.contiguous(Arrays.copyOf(seq, prefill), 0))[0]);
    for (int pos = prefill; pos < seq.length; pos++) {
      assertNear(f16.forward(ForwardBatch.contiguous(new int[] {seq[pos]}, pos))[0],
          f32.forward(ForwardBatch.contiguous(new int[] {seq[pos]}, pos))[0]);
    }
  }

  @Test
  void logits_batchOfSequences_eachWithinTolerance() {
    // three sequences' prefills in one step (slots 600.., 700.., 800..), as the batch loop sends them
    int[] tokens = {1, 40, 41, 42, 1, 90, 91, 1, 7, 8, 9, 10};
    int[] positions = {0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 4};
    long[] slots = {300, 301, 302, 303, 400, 401, 402, 450, 451, 452, 453, 454};
    ForwardBatch batch = new ForwardBatch(tokens, positions, slots, new int[] {0, 4, 7, 12},
        new long[][] {{300, 301, 302, 303}, {400, 401, 402}, {450, 451, 452, 453, 454}});

    float[][] half = f16.forward(batch);
    float[][] full = f32.forward(batch);

    for (int s = 0; s < 3; s++) {
      assertNear(half[s], full[s]);
    }
  }

  @Test
  void tiedEmbeddings_greedyAndLogits_matchFloat32() {
    int[] prompt = {1, 5, 17, 42, 8, 96, 3};

    assertNear(tiedF16.forward(ForwardBatch.contiguous(prompt, 0))[0],
        tiedF32.forward(ForwardBatch.contiguous(prompt, 0))[0]);
    assertThat(TestModels.greedy(tiedF16, prompt, 16)).isEqualTo(TestModels.greedy(tiedF32, prompt, 16));
  }

  @Test
  void embed_halfWeights_staysCloseToFloat32() {
    int[] tokens = {1, 9, 33, 71, 2, 14};

    float[] half = tiedF16.embed(tokens);
    float[] full = tiedF32.embed(tokens);

    for (int i = 0; i < full.length; i++) {
      assertThat((double) Math.abs(half[i] - full[i])).as("component %d", i).isLessThan(MAX_ABS_LOGIT_DIFF);
    }
  }

  @Test
  void parse_configNames_acceptsFloatsAndRefusesBfloat16AndInt8WithTheReason() {
    assertThat(WeightPrecision.parse("float32")).isEqualTo(WeightPrecision.FLOAT32);
    assertThat(WeightPrecision.parse("float16")).isEqualTo(WeightPrecision.FLOAT16);
    assertThat(WeightPrecision.parse("float16-decode")).isEqualTo(WeightPrecision.FLOAT16_DECODE);
    assertThatThrownBy(() -> WeightPrecision.parse("bfloat16")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("DJL 0.35.1").hasMessageEndingWith("must be float32, float16 or float16-decode");
    assertThatThrownBy(() -> WeightPrecision.parse("int8")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no quantized linear op");
    assertThatThrownBy(() -> WeightPrecision.parse("float8")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("must be float32, float16 or float16-decode, got 'float8'");
  }

  private static void assertNear(float[] actual, float[] expected) {
    double max = 0;
    for (int i = 0; i < expected.length; i++) {
      max = Math.max(max, Math.abs(actual[i] - expected[i]));
    }
    assertThat(max).as("largest logit difference").isLessThanOrEqualTo(MAX_ABS_LOGIT_DIFF);
    Integer[] actualTop = top(actual);
    Integer[] expectedTop = top(expected);
    for (int r = 0; r < TOP_K; r++) {
      // the same token at each rank, or one whose float32 logit ties with it within twice the tolerance
      assertThat((double) Math.abs(expected[actualTop[r]] - expected[expectedTop[r]]))
          .as("rank %d: token %d instead of %d", r, actualTop[r], expectedTop[r])
          .isLessThanOrEqualTo(2 * MAX_ABS_LOGIT_DIFF);
    }
  }

  private static Integer[] top(float[] logits) {
    return IntStream.range(0, logits.length).boxed()
        .sorted((a, b) -> Float.compare(logits[b], logits[a]))
        .limit(TOP_K).toArray(Integer[]::new);
  }
}
