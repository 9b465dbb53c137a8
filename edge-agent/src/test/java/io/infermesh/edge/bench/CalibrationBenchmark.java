package io.infermesh.edge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.TinyModel;
import io.infermesh.edge.calibrate.CalibrationTarget;
import io.infermesh.edge.calibrate.OnlineCalibration;
import io.infermesh.edge.engine.LlamaEmbedder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The self-calibrating router's costs on the tiny edge model: one learned example (embedding the
 * prompt, one SGD step, the atomic rewrite of the state file) on the shadow worker, and one score
 * (embedding + dot product) on the request path. Prints, asserts nothing about speed:
 *
 * <pre>./mvnw -o -pl edge-agent -am test -Dtest=CalibrationBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
class CalibrationBenchmark {
  @TempDir Path dir;

  @Test
  void learnAndScore_tinyModel() throws Exception {
    try (LlamaEmbedder embedder = LlamaEmbedder.load(TinyModel.path(), 512, 1)) {
      OnlineCalibration c = OnlineCalibration.open(embedder, new OnlineCalibration.Settings(
          new CalibrationTarget.EscalationRate(0.2), 0.8, 0.05, 1e-4, 0.5, 0.05,
          Optional.of(dir.resolve("calibration.bin"))));
      int n = 400;
      long[] learn = new long[n];
      long[] score = new long[n];
      for (int i = 0; i < n; i++) {
        String prompt = (i % 2 == 0 ? "debug the rust borrow checker error in loop " : "hello friend, lovely day ") + i;
        long t0 = System.nanoTime();
        c.learn(prompt, i % 2 == 0);
        learn[i] = System.nanoTime() - t0;
        t0 = System.nanoTime();
        c.escalate(c.score(prompt));
        score[i] = System.nanoTime() - t0;
      }
      Arrays.sort(learn);
      Arrays.sort(score);
      System.out.printf("CALIBRATION learn (embed + SGD + atomic save, %d dims): p50 %.2f ms p99 %.2f ms;"
          + " score+decide p50 %.2f ms p99 %.2f ms (n=%d)%n", embedder.embed("x").length, learn[n / 2] / 1e6,
          learn[n * 99 / 100] / 1e6, score[n / 2] / 1e6, score[n * 99 / 100] / 1e6, n);
      assertThat(c.state().examples()).isEqualTo(n);
    }
  }
}
