package io.infermesh.edge.bench;

import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.grammar.Gbnf;
import io.infermesh.models.grammar.JsonSchemaGrammar;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * Decode slowdown of structured output on the edge (not part of {@code verify}): llama.cpp
 * generating under the five-field schema's GBNF against free text, in-process, runs interleaved,
 * on the tiny edge model and the 0.5B-shaped model (Qwen2.5-0.5B dims, random weights, Q4_0).
 * Run: {@code ./mvnw -o -pl edge-agent test -Dtest=StructuredDecodeBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}; the lines start with STRUCTURED.
 */
class StructuredDecodeBenchmark {
  static final String FIVE_FIELDS = """
      {"type":"object","properties":{
        "name":{"type":"string"},
        "age":{"type":"integer"},
        "score":{"type":"number"},
        "tags":{"type":"array","items":{"type":"string","enum":["a","b","c d"]}},
        "address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},
                   "required":["city","zip"],"additionalProperties":false}},
       "required":["name","age","score","tags","address"],"additionalProperties":false}""";

  @Test
  void decodeSlowdown() throws Exception {
    report("tiny-edge Q8_0", TinyModel.path(), 256, 7);
    report("half-billion-shape Q4_0",
        TinyModels.write(TinyModelSpec.halfBillionShape(GgmlType.Q4_0), TinyModel.directory()), 64, 7);
  }

  private static void report(String label, Path model, int maxTokens, int runs) throws Exception {
    EdgeConfig.Model m = EdgeConfig.Model.builder().path(model).name("bench").contextSize(1024).threads(1)
        .defaultMaxTokens(16).build();
    LlamaEngine engine = LlamaEngine.load(m, 1);
    try {
      Prompt prompt = engine.renderChat(List.of(ChatMessage.of(Role.USER, "Describe a person as JSON.")));
      // temperature 1 and a seed: a greedy random model may settle into one string forever either way
      SamplingParams free = new SamplingParams(maxTokens, 1f, 1f, 0, OptionalLong.of(5), List.of());
      SamplingParams schema = free.withGrammar(Optional.of(Gbnf.write(JsonSchemaGrammar.of(FIVE_FIELDS))));
      time(engine, prompt, free);
      time(engine, prompt, schema);
      double[] a = new double[runs];
      double[] b = new double[runs];
      double[] ratio = new double[runs];
      for (int i = 0; i < runs; i++) {
        a[i] = time(engine, prompt, free);
        b[i] = time(engine, prompt, schema);
        ratio[i] = b[i] / a[i];
      }
      System.out.printf("STRUCTURED edge %s: up to %d tokens x %d runs, ms/token free p50=%.3f, schema p50=%.3f, "
          + "slowdown median of paired ratios=%.3f (ratios %s)%n", label, maxTokens, runs, median(a), median(b),
          median(ratio), Arrays.toString(Arrays.stream(ratio).map(r -> Math.round(r * 1000) / 1000.0).toArray()));
    } finally {
      engine.close();
    }
  }

  /** Milliseconds per generated token, prompt included in neither (the prompt cache holds it). */
  private static double time(LlamaEngine engine, Prompt prompt, SamplingParams sampling) {
    long t0 = System.nanoTime();
    Completion c = engine.generate(prompt, sampling, text -> { }, () -> false);
    return (System.nanoTime() - t0) / 1e6 / Math.max(1, c.completionTokens());
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v[v.length / 2];
  }
}
