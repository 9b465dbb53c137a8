package io.infermesh.core.constrain;

import ai.djl.Device;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.Sampler;
import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.engine.TokenConstraint;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.grammar.JsonSchemaGrammar;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Costs of constrained decoding on the core (not part of {@code verify}: the name does not end in
 * Test). Run: {@code ./mvnw -o -pl core-cluster test -Dtest=ConstrainedDecodeBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}; lines start with MASK and DECODE.
 *
 * <ul>
 *   <li>MASK: the per-step mask along walks through the five-field schema over synthetic 32k and
 *       150k vocabularies (byte tokens, space-led words, word pieces, digits, JSON punctuation; the
 *       tiny models' own vocabulary is 512 tokens): cold (a trie walk, what a state's first visit
 *       costs), warm (cache hit plus applying the mask to the logits, what every later visit costs)
 *       and apply alone.
 *   <li>DECODE: greedy decode on the core engine (forward + sampler), the five-field schema
 *       against free text, on the tiny core model and on the 0.5B-shaped model (Qwen2.5-0.5B's
 *       dims, random weights, 151,936 logits), runs interleaved.
 * </ul>
 */
class ConstrainedDecodeBenchmark {
  private static final String FIVE_FIELDS = GrammarConstraintTest.FIVE_FIELDS;

  @Test
  void maskPerStep() {
    for (int size : new int[] {32_000, 150_000}) {
      byte[][] vocab = syntheticVocabulary(size, 7);
      TokenTrie trie = TokenTrie.of(vocab);
      int eos = size - 1;
      Constraints constraints = new Constraints(trie, new int[] {eos}, 256L << 20);
      Grammar grammar = JsonSchemaGrammar.of(FIVE_FIELDS);
      CompiledGrammar compiled = constraints.compile(grammar);
      int steps = 0;
      int coldSteps = 0;
      long[] cold = new long[4096];
      long[] warm = new long[4096];
      long[] apply = new long[4096];
      Set<MatchState> states = new HashSet<>();
      long cold0 = 0;
      for (int walk = 0; walk < 4; walk++) {
        // the same walk twice: the first fills the cache (timed as cold), the second hits it (warm)
        for (int pass = 0; pass < 2; pass++) {
          SplittableRandom random = new SplittableRandom(walk);
          TokenConstraint c = constraints.factory(grammar, 200).create();
          MatchState state = compiled.initial();
          float[] row = new float[size];
          for (int i = 0; i < 200 && steps < cold.length; i++) {
            for (int t = 0; t < size; t++) {
              row[t] = (float) random.nextGaussian();
            }
            if (pass == 0 && coldSteps < cold.length) {
              long t0 = System.nanoTime();
              compiled.compute(state, CompiledGrammar.UNBOUNDED);
              cold[coldSteps++] = System.nanoTime() - t0;
              states.add(state);
            }
            float[] copy = row.clone();
            long t1 = System.nanoTime();
            c.mask(copy);
            long t2 = System.nanoTime();
            if (pass == 1) {
              warm[steps] = t2 - t1;
              TokenMask m = compiled.mask(state, CompiledGrammar.UNBOUNDED);
              float[] fresh = row.clone();
              long t3 = System.nanoTime();
              m.apply(fresh);
              apply[steps] = System.nanoTime() - t3;
            }
            int best = Sampler.argmax(copy);
            c.accept(best);
            if (best == eos) {
              break;
            }
            state = compiled.step(state, vocab[best]);
            if (pass == 1) {
              steps++;
            }
            if (pass == 0 && i == 0 && walk == 0) {
              cold0 = cold[0];
            }
          }
        }
      }
      System.out.printf("MASK vocab=%d trie_nodes=%d steps=%d distinct_states=%d first_walk=%.1f ms uncached p50=%.1f us mean=%.1f us | "
              + "warm p50=%.1f us mean=%.1f us p99=%.1f us | apply p50=%.1f us%n", size, trie.nodes, steps, states.size(), cold0 / 1e6,
          p50(cold, coldSteps) / 1e3, mean(cold, coldSteps) / 1e3, p50(warm, steps) / 1e3, mean(warm, steps) / 1e3, pct(warm, steps, 0.99) / 1e3,
          p50(apply, steps) / 1e3);
    }
  }

  @Test
  void decodeSlowdown() throws Exception {
    System.setProperty("ai.djl.offline", "true");
    DjlRuntime.threads(1);
    Path dir = Path.of("target", "tiny-models").toAbsolutePath();
    decode("tiny-core F32", TinyModels.write(TinyModelSpec.core(GgmlType.F32), dir), 96, 7);
    decode("half-billion-shape (Q4_0 file, F32 in PyTorch)",
        TinyModels.write(TinyModelSpec.halfBillionShape(GgmlType.Q4_0), dir), 32, 3);
  }

  private static void decode(String label, Path file, int tokens, int runs) throws Exception {
    Tokenizer tokenizer;
    try (GgufFile gguf = GgufFile.open(file)) {
      tokenizer = Tokenizer.fromGguf(gguf.metadata());
    }
    Constraints constraints = Constraints.of(tokenizer);
    // a budget this large never binds, so the answer is the schema's from the model's own choices
    TokenConstraint.Factory schema = constraints.factory(JsonSchemaGrammar.of(FIVE_FIELDS), 100_000);
    int[] prompt = tokenizer.encode("<|im_start|>user\nDescribe a person as JSON.<|im_end|>\n<|im_start|>assistant\n",
        true, true);
    try (GgufCheckpoint cp = GgufCheckpoint.open(file);
        LlamaModel model = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(),
            prompt.length + tokens + 8)) {
      run(model, prompt, 4, SamplingParams.GREEDY); // warm-up
      run(model, prompt, 4, SamplingParams.GREEDY.withConstraint(schema));
      double[] free = new double[runs];
      double[] constrained = new double[runs];
      double[] ratio = new double[runs];
      double[] freeSample = new double[runs];
      double[] constrainedSample = new double[runs];
      double[] overhead = new double[runs];
      for (int i = 0; i < runs; i++) {
        double[] f = run(model, prompt, tokens, SamplingParams.GREEDY);
        double[] c = run(model, prompt, tokens, SamplingParams.GREEDY.withConstraint(schema));
        free[i] = f[0] + f[1];
        constrained[i] = c[0] + c[1];
        ratio[i] = constrained[i] / free[i];
        freeSample[i] = f[1];
        constrainedSample[i] = c[1];
        // the sampler's extra time against the whole free step: noise in the forward pass cancels
        overhead[i] = (c[1] - f[1]) / (f[0] + f[1]);
      }
      System.out.printf("DECODE %s: %d tokens x %d runs; ms/token free p50=%.2f constrained p50=%.2f (wall ratio "
              + "median %.3f, %s); sampler ms/token free p50=%.3f constrained p50=%.3f; added by the constraint, as a "
              + "share of the free step: median %.4f %s%n", label, tokens, runs, median(free), median(constrained),
          median(ratio), round(ratio), median(freeSample), median(constrainedSample), median(overhead),
          round(overhead));
    }
  }

  private static String round(double[] values) {
    return Arrays.toString(Arrays.stream(values).map(r -> Math.round(r * 10000) / 10000.0).toArray());
  }

  /** Prefill, then {@code tokens} greedy decode steps; returns {forward, sampler} ms per token. */
  private static double[] run(LlamaModel model, int[] prompt, int tokens, SamplingParams params) {
    Sampler sampler = new Sampler(params);
    float[] logits = model.forward(ForwardBatch.contiguous(prompt, 0))[0];
    int next = sampler.sample(logits);
    long forward = 0;
    long sample = 0;
    for (int i = 0; i < tokens; i++) {
      long t0 = System.nanoTime();
      logits = model.forward(ForwardBatch.contiguous(new int[] {next}, prompt.length + i))[0];
      long t1 = System.nanoTime();
      next = sampler.sample(logits);
      sample += System.nanoTime() - t1;
      forward += t1 - t0;
    }
    return new double[] {forward / 1e6 / tokens, sample / 1e6 / tokens};
  }

  /**
   * {@code size} distinct token spellings, deterministic: the 256 single bytes, then space-led and
   * bare lower-case words and capitalised words (2–10 letters), digit runs, and JSON punctuation
   * runs; the last id is left empty (the end token).
   */
  static byte[][] syntheticVocabulary(int size, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    byte[][] out = new byte[size][];
    Set<String> seen = new HashSet<>();
    for (int b = 0; b < 256; b++) {
      out[b] = new byte[] {(byte) b};
      seen.add(new String(out[b], StandardCharsets.ISO_8859_1));
    }
    String punct = "\"{}[],:.\n -_'!?";
    int t = 256;
    while (t < size - 1) {
      StringBuilder s = new StringBuilder();
      double kind = r.nextDouble();
      if (kind < 0.85) {
        if (kind < 0.55) {
          s.append(' ');
        }
        int len = 2 + r.nextInt(9);
        for (int i = 0; i < len; i++) {
          char c = (char) ('a' + r.nextInt(26));
          s.append(i == 0 && kind > 0.78 ? Character.toUpperCase(c) : c);
        }
      } else if (kind < 0.92) {
        int len = 1 + r.nextInt(3);
        for (int i = 0; i < len; i++) {
          s.append((char) ('0' + r.nextInt(10)));
        }
      } else {
        int len = 2 + r.nextInt(3);
        for (int i = 0; i < len; i++) {
          s.append(punct.charAt(r.nextInt(punct.length())));
        }
      }
      if (seen.add(s.toString())) {
        out[t++] = s.toString().getBytes(StandardCharsets.UTF_8);
      }
    }
    out[size - 1] = new byte[0];
    return out;
  }

  private static double p50(long[] values, int n) {
    long[] v = Arrays.copyOf(values, n);
    Arrays.sort(v);
    return v[n / 2];
  }

  private static double pct(long[] values, int n, double q) {
    long[] v = Arrays.copyOf(values, n);
    Arrays.sort(v);
    return v[Math.min(n - 1, (int) (n * q))];
  }

  private static double mean(long[] values, int n) {
    return Arrays.stream(values, 0, n).average().orElse(0);
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v[v.length / 2];
  }
}
