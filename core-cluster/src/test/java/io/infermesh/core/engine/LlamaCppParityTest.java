package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine against llama.cpp (de.kherud:llama, the build the edge runs) on the same F32 tiny core
 * model: greedy decoding gives the same text over a long sequence, and the last-position logits
 * agree within 1e-3.
 *
 * <p>The binding exposes no logits (and {@code setNProbs} aborts the JVM), so llama.cpp's logits
 * are measured through its sampler: with a logit bias {@code b} on token {@code j}, greedy picks
 * {@code j} exactly when {@code b > max_i logit_i - logit_j}. Bisecting on {@code b} recovers that
 * margin to 1e-5 for a set of probe tokens; margins determine the logits up to the one constant
 * softmax ignores. The full logit vector is also compared against an independent double-precision
 * plain-Java implementation ({@link ReferenceLlama}).
 */
class LlamaCppParityTest {
  private static final String PROMPT = "Once upon a time, the little robot walked to the market and said";
  private static final int GREEDY_TOKENS = 96;

  private static Path file;
  private static Tokenizer tokenizer;
  private static GgufCheckpoint checkpoint;
  private static io.infermesh.core.engine.LlamaModel engine;
  private static LlamaModel llama;

  @BeforeAll
  static void load() throws Exception {
    Path dir = Files.createTempDirectory("parity");
    file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), dir);
    checkpoint = GgufCheckpoint.open(file);
    tokenizer = Tokenizer.fromGguf(checkpoint.file().metadata());
    LlamaConfig c = checkpoint.config();
    engine = io.infermesh.core.engine.LlamaModel.load(c, LayerRange.all(c.layers()), checkpoint, Device.cpu(),
        c.contextLength());
    LlamaModel.setLogger(null, (level, message) -> {});
    llama = new LlamaModel(new ModelParameters()
        .setModel(file.toString())
        .setThreads(1)
        .setThreadsBatch(1)
        .setCtxSize(c.contextLength())
        .setCacheTypeK(CacheType.F32)
        .setCacheTypeV(CacheType.F32)
        .setParallel(1)
        .setGpuLayers(0));
  }

  @AfterAll
  static void close() throws Exception {
    if (llama != null) {
      llama.close();
    }
    engine.close();
    checkpoint.close();
  }

  private static InferenceParameters greedy(String prompt, int n) {
    return new InferenceParameters(prompt)
        .setNPredict(n)
        .setTemperature(0f)
        .setRepeatPenalty(1f)
        .setTopK(0)
        .setTopP(1f)
        .setMinP(0f)
        .setIgnoreEos(true)
        .setCachePrompt(true)
        .setSeed(1);
  }

  private static int[] promptTokens() {
    return tokenizer.encode(PROMPT, true, true);
  }

  /** Our greedy continuation, one token at a time through the KV cache. */
  private static int[] engineGreedy(int[] prompt, int n) {
    int[] out = new int[n];
    float[] logits = engine.forward(ForwardBatch.contiguous(prompt, 0))[0];
    for (int i = 0; i < n; i++) {
      out[i] = Sampler.argmax(logits);
      logits = engine.forward(ForwardBatch.contiguous(new int[] {out[i]}, prompt.length + i))[0];
    }
    return out;
  }

  @Test
  void tokenizer_prompt_matchesLlamaCpp() {
    int[] ours = promptTokens();
    int[] theirs = llama.encode(PROMPT);
    // llama.cpp's encode() adds no BOS; the server path that generates does
    assertThat(ours).endsWith(theirs);
    assertThat(ours.length).isGreaterThan(5);
  }

  @Test
  void greedyDecoding_longSequence_producesSameTextAsLlamaCpp() {
    StringBuilder theirs = new StringBuilder();
    int pieces = 0;
    for (LlamaOutput o : llama.generate(greedy(PROMPT, GREEDY_TOKENS))) {
      theirs.append(o.text);
      pieces++;
    }
    int[] ours = engineGreedy(promptTokens(), GREEDY_TOKENS);
    assertThat(pieces).isGreaterThan(GREEDY_TOKENS / 2);
    assertThat(tokenizer.decode(ours)).isEqualTo(theirs.toString());
  }

  @Test
  void lastPositionLogits_matchLlamaCppWithin1e3() {
    int[] prompt = promptTokens();
    float[] ours = engine.forward(ForwardBatch.contiguous(prompt, 0))[0];
    int top = Sampler.argmax(ours);
    // llama.cpp's own greedy choice at this position is ours
    assertThat(llama.complete(greedy(PROMPT, 1))).isEqualTo(tokenizer.decode(new int[] {top}));
    List<Integer> probes = probeTokens(ours, top, 24);
    for (int j : probes) {
      double expected = ours[top] - ours[j]; // margin llama.cpp must show
      double measured = llamaMargin(j, expected);
      assertThat(Math.abs(measured - expected)).as("margin of token %d (%s)", j, tokenizer.decode(new int[] {j}))
          .isLessThan(1e-3);
    }
  }

  @Test
  void logits_matchPlainJavaReferenceWithin1e4() throws Exception {
    int[] prompt = promptTokens();
    float[] ours = engine.forward(ForwardBatch.contiguous(prompt, 0))[0];
    double[] reference = new ReferenceLlama(checkpoint.config(), checkpoint).logits(prompt);
    double worst = 0;
    for (int i = 0; i < ours.length; i++) {
      worst = Math.max(worst, Math.abs(ours[i] - reference[i]));
    }
    assertThat(worst).isLessThan(1e-4);
  }

  /** Tokens spread over the logit range whose text is unique and non-empty, so llama.cpp's pick can be read back. */
  private static List<Integer> probeTokens(float[] logits, int top, int count) {
    Integer[] order = new Integer[logits.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
    Map<String, Integer> byText = new HashMap<>();
    for (int i = 0; i < logits.length; i++) {
      byText.merge(tokenizer.decode(new int[] {i}), 1, Integer::sum);
    }
    List<Integer> probes = new ArrayList<>();
    int stride = Math.max(1, order.length / count);
    for (int k = 1; k < order.length && probes.size() < count; k += (probes.size() < 8 ? 1 : stride)) {
      int id = order[k];
      String text = tokenizer.decode(new int[] {id});
      if (id != top && !text.isEmpty() && byText.get(text) == 1 && !tokenizer.isEndOfGeneration(id)) {
        probes.add(id);
      }
    }
    return probes;
  }

  /**
   * llama.cpp's {@code max_i logit_i - logit_j}: the smallest bias on {@code j} that makes greedy
   * pick it, found by bisection in a bracket of 0.01 around {@code guess}.
   */
  private static double llamaMargin(int j, double guess) {
    String target = tokenizer.decode(new int[] {j});
    double lo = guess - 0.01;
    double hi = guess + 0.01;
    if (picks(j, lo, target) || !picks(j, hi, target)) {
      return Double.NaN; // outside the bracket: the logits differ by more than 0.01
    }
    while (hi - lo > 1e-5) {
      double mid = (lo + hi) / 2;
      if (picks(j, mid, target)) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return (lo + hi) / 2;
  }

  private static boolean picks(int token, double bias, String target) {
    String text = llama.complete(greedy(PROMPT, 1).setTokenIdBias(Map.of(token, (float) bias)));
    return text.equals(target);
  }
}
