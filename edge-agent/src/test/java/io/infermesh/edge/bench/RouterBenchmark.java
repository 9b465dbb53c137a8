package io.infermesh.edge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.TinyModel;
import io.infermesh.edge.engine.LlamaEmbedder;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.FeatureScorer;
import io.infermesh.edge.route.LearnedScorer;
import io.infermesh.edge.route.MeshRouter;
import io.infermesh.edge.route.QuantileThreshold;
import io.infermesh.edge.route.RouteRequest;
import io.infermesh.edge.route.Router;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Router decision time, feature scorer (target ≤ 50 µs) and learned scorer on the tiny edge
 * model's embeddings (target ≤ 5 ms). Not part of {@code verify}:
 *
 * <pre>./mvnw -o -pl edge-agent test -Dtest=RouterBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
class RouterBenchmark {
  private static final String[] PROMPTS = {
    "Hello! How are you today?",
    "Explain step by step why this code is slow: ```for (int i = 0; i < n; i++) { list.remove(0); }```",
    "Solve the equation 3x + 7 = 22 and prove that the solution is unique.",
    "Write a short poem about the sea in winter.",
    "Compare the trade-offs of B-trees and LSM trees for a write-heavy workload, and design a plan to migrate.",
    "What is the capital of France?",
  };

  private static List<RouteRequest> requests() {
    List<RouteRequest> out = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      String p = PROMPTS[i % PROMPTS.length] + " (" + i + ")";
      out.add(new RouteRequest("default", "auto", Map.of(), 20 + i, 64, 512, p, 1 + i % 4, Optional.empty()));
    }
    return out;
  }

  private static void measure(String name, Router router, int iterations) {
    List<RouteRequest> reqs = requests();
    for (int i = 0; i < iterations; i++) { // warm-up
      router.decide(reqs.get(i % reqs.size()));
    }
    long[] t = new long[iterations];
    for (int i = 0; i < iterations; i++) {
      long t0 = System.nanoTime();
      router.decide(reqs.get(i % reqs.size()));
      t[i] = System.nanoTime() - t0;
    }
    Arrays.sort(t);
    System.out.printf("ROUTER %-8s decision p50 %.1f µs p99 %.1f µs (n=%d)%n", name, t[iterations / 2] / 1e3,
        t[(int) (iterations * 0.99)] / 1e3, iterations);
  }

  @Test
  void decisionTime_featureAndLearned() throws Exception {
    MeshRouter features = MeshRouter.builder().core(() -> CoreState.AVAILABLE)
        .threshold(QuantileThreshold.of(0.2, 1000, 100, 0.5)).scorer(FeatureScorer.defaults()).build();
    measure("features", features, 200_000);

    try (LlamaEmbedder embedder = LlamaEmbedder.load(TinyModel.path(), 512, 1)) {
      List<LearnedScorer.Example> examples = new ArrayList<>();
      for (int i = 0; i < 48; i++) {
        String p = PROMPTS[i % PROMPTS.length];
        examples.add(new LearnedScorer.Example(p + " #" + i, p.contains("step") || p.contains("prove")
            || p.contains("trade-offs")));
      }
      long t0 = System.nanoTime();
      LearnedScorer scorer = LearnedScorer.train(embedder, examples);
      System.out.printf("ROUTER learned: embedding dims %d, trained on %d examples in %d ms%n",
          embedder.embed("x").length, examples.size(), (System.nanoTime() - t0) / 1_000_000);
      assertThat(embedder.embed("hello")).hasSizeGreaterThan(8);
      MeshRouter learned = MeshRouter.builder().core(() -> CoreState.AVAILABLE).scorer(scorer).build();
      measure("learned", learned, 2_000);
    }
  }
}
