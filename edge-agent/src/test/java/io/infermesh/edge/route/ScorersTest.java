package io.infermesh.edge.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScorersTest {
  private static RouteRequest req(String text, int promptTokens, int maxTokens, int turns) {
    return new RouteRequest("default", "auto", Map.of(), promptTokens, maxTokens, 4096, text, turns,
        Optional.empty());
  }

  @Test
  void featureScorer_cues_rankHarderPromptsHigher() {
    FeatureScorer s = FeatureScorer.defaults();
    double chat = s.score(req("Hello, how are you?", 8, 16, 1));
    double code = s.score(req("Write a function: ```def add(a, b): return a + b```", 20, 64, 1));
    double math = s.score(req("Solve the equation 3x + 7 = 22", 12, 64, 1));
    double codeAndReasoning = s.score(req("Explain step by step why this function is slow: ```for (;;) {}```", 30,
        512, 3));
    double longAnswer = s.score(req("Tell me a story", 900, 1024, 10));
    assertThat(chat).isLessThan(0.2);
    assertThat(code).isGreaterThan(chat).isBetween(0.3, 0.7);
    assertThat(math).isGreaterThan(chat).isBetween(0.3, 0.7);
    assertThat(codeAndReasoning).isGreaterThan(0.7);
    assertThat(longAnswer).isGreaterThan(0.5);
  }

  /** A bag-of-words embedding over a fixed vocabulary: enough to check that the classifier learns. */
  private static final List<String> VOCAB = List.of("prove", "theorem", "integral", "code", "hello", "thanks",
      "weather", "hi");

  private static float[] bagOfWords(String text) {
    float[] v = new float[VOCAB.size()];
    for (String w : text.toLowerCase().split("\\W+")) {
      int i = VOCAB.indexOf(w);
      if (i >= 0) {
        v[i] += 1;
      }
    }
    return v;
  }

  @Test
  void learnedScorer_trainedFromJsonl_separatesTheClasses(@TempDir Path dir) throws IOException {
    List<String> lines = new ArrayList<>();
    String[] hard = {"prove the theorem", "compute the integral", "prove this integral bound", "code a theorem prover"};
    String[] easy = {"hello there", "thanks a lot", "what is the weather", "hi hello"};
    for (int i = 0; i < 5; i++) {
      for (String h : hard) {
        lines.add("{\"prompt\":\"" + h + "\",\"needs_core\":true}");
      }
      for (String e : easy) {
        lines.add("{\"prompt\":\"" + e + "\",\"needs_core\":false}");
      }
    }
    Path file = dir.resolve("examples.jsonl");
    Files.write(file, lines);
    LearnedScorer scorer = LearnedScorer.train(ScorersTest::bagOfWords, LearnedScorer.readExamples(file));
    assertThat(scorer.score(req("please prove the integral", 5, 16, 1))).isGreaterThan(0.8);
    assertThat(scorer.score(req("hello, thanks", 5, 16, 1))).isLessThan(0.2);
  }

  @Test
  void readExamples_badLine_namesTheLine(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("bad.jsonl");
    Files.write(file, List.of("{\"prompt\":\"a\",\"needs_core\":true}", "{\"prompt\":\"b\"}"));
    assertThatThrownBy(() -> LearnedScorer.readExamples(file)).hasMessageContaining("bad.jsonl:2");
  }

  @Test
  void logisticRegression_oneClassOnly_isRefused() {
    assertThatThrownBy(() -> LogisticRegression.train(List.of(new float[] {1}), List.of(true), 10, 0.1, 0))
        .hasMessageContaining("both labels");
  }
}
