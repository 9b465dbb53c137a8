package io.infermesh.edge.calibrate;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.TinyModel;
import io.infermesh.edge.engine.LlamaEmbedder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OnlineCalibration} over real llama.cpp embeddings of the tiny edge model. Two prompt
 * families the tiny model embeds apart (checked by {@link #families_areSeparableByTheTinyModel}:
 * their vectors' cosine similarity within a family is higher than across, so a linear model can tell
 * them apart): "code" prompts, which the core always answers differently (label: should escalate),
 * and "chat" prompts, where it agrees. Traffic is one code prompt in five.
 */
class OnlineCalibrationTest {
  private static final String[] CODE_VERBS = {"Refactor", "Debug", "Optimise", "Rewrite", "Profile", "Review",
    "Port", "Test", "Document", "Vectorise"};
  private static final String[] CODE_THINGS = {"this quicksort in C++", "the SQL join below", "my Rust borrow error",
    "a Java HashMap resize", "the CUDA kernel launch", "this Python generator", "the Go channel deadlock",
    "a Haskell monad stack", "my bash pipeline", "the x86 assembly loop", "a JavaScript promise chain",
    "the Kotlin coroutine scope"};
  private static final String[] CHAT_OPENERS = {"hi there", "good morning", "hello friend", "hey", "thanks so much",
    "cheers", "good evening", "howdy", "nice to meet you", "hello again"};
  private static final String[] CHAT_TOPICS = {"how was your weekend", "what a lovely sunny day", "I like cats",
    "my garden has roses", "the coffee is warm", "we went to the beach", "my dog is happy", "tea or coffee",
    "the birds sing today", "I baked some bread", "the park was nice", "see you soon"};

  private static LlamaEmbedder embedder;

  @TempDir Path dir;

  @BeforeAll
  static void load() throws Exception {
    embedder = LlamaEmbedder.load(TinyModel.path(), 512, 1);
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  private static String code(Random r) {
    return CODE_VERBS[r.nextInt(CODE_VERBS.length)] + " " + CODE_THINGS[r.nextInt(CODE_THINGS.length)]
        + ": { return x[i] * 2; } #" + r.nextInt(1000);
  }

  private static String chat(Random r) {
    return CHAT_OPENERS[r.nextInt(CHAT_OPENERS.length)] + ", " + CHAT_TOPICS[r.nextInt(CHAT_TOPICS.length)]
        + " :) " + r.nextInt(1000);
  }

  private static OnlineCalibration.Settings settings(CalibrationTarget target, Optional<Path> file) {
    return new OnlineCalibration.Settings(target, 0.8, 0.05, 1e-4, 0.5, 0.05, file);
  }

  /** Trains on a stream where every code prompt disagrees with the core and every chat prompt agrees. */
  private static void train(OnlineCalibration calibration, long seed, int examples) throws Exception {
    Random r = new Random(seed);
    for (int i = 0; i < examples; i++) {
      boolean hard = i % 2 == 0;
      calibration.learn(hard ? code(r) : chat(r), hard);
    }
  }

  @Test
  void families_areSeparableByTheTinyModel() {
    Random r = new Random(1);
    List<float[]> code = new ArrayList<>();
    List<float[]> chat = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      code.add(embedder.embed(code(r)));
      chat.add(embedder.embed(chat(r)));
    }
    double within = (meanCosine(code, code) + meanCosine(chat, chat)) / 2;
    double across = meanCosine(code, chat);
    System.out.printf("CALIBRATION tiny-model cosine: within families %.4f, across %.4f%n", within, across);
    assertThat(within).isGreaterThan(across);
  }

  @Test
  void learn_oneFamilyAlwaysDisagrees_thatFamilyEscalatesAndTheOtherStaysLocal() throws Exception {
    OnlineCalibration calibration = OnlineCalibration.open(embedder,
        settings(new CalibrationTarget.EscalationRate(0.2), Optional.empty()));
    train(calibration, 7, 300);

    Random held = new Random(99); // prompts the model never learned from
    int codeUp = 0;
    int chatUp = 0;
    int codeSeen = 0;
    int chatSeen = 0;
    for (int i = 0; i < 2000; i++) {
      boolean hard = i % 5 == 0;
      boolean up = calibration.escalate(calibration.score(hard ? code(held) : chat(held)));
      if (i < 1000) {
        continue; // the threshold settles
      }
      if (hard) {
        codeSeen++;
        codeUp += up ? 1 : 0;
      } else {
        chatSeen++;
        chatUp += up ? 1 : 0;
      }
    }
    double rate = (double) (codeUp + chatUp) / (codeSeen + chatSeen);
    System.out.printf("CALIBRATION held-out: code escalated %d/%d, chat %d/%d, rate %.4f (target 0.20)%n",
        codeUp, codeSeen, chatUp, chatSeen, rate);
    assertThat((double) codeUp / codeSeen).as("code prompts escalated").isGreaterThanOrEqualTo(0.95);
    assertThat((double) chatUp / chatSeen).as("chat prompts escalated").isLessThanOrEqualTo(0.03);
    assertThat(rate).isBetween(0.18, 0.22);
  }

  @Test
  void escalate_heldOutStream_convergesToTheTargetRate() throws Exception {
    OnlineCalibration calibration = OnlineCalibration.open(embedder,
        settings(new CalibrationTarget.EscalationRate(0.35), Optional.empty()));
    train(calibration, 11, 200);
    Random held = new Random(5);
    int up = 0;
    int counted = 0;
    for (int i = 0; i < 2600; i++) {
      boolean escalated = calibration.escalate(calibration.score(held.nextInt(3) == 0 ? code(held) : chat(held)));
      if (i >= 1000) { // the threshold settles
        counted++;
        up += escalated ? 1 : 0;
      }
    }
    double rate = (double) up / counted;
    System.out.printf("CALIBRATION held-out rate %.4f (target 0.35), threshold %.4f%n", rate, calibration.value());
    assertThat(rate).isBetween(0.33, 0.37);
  }

  @Test
  void open_savedState_reloadsWithIdenticalDecisions() throws Exception {
    Path file = dir.resolve("state").resolve("calibration.bin");
    OnlineCalibration first = OnlineCalibration.open(embedder,
        settings(new CalibrationTarget.EscalationRate(0.2), Optional.of(file)));
    train(first, 3, 60);
    OnlineCalibration reloaded = OnlineCalibration.open(embedder,
        settings(new CalibrationTarget.EscalationRate(0.2), Optional.of(file)));
    OnlineCalibration fresh = OnlineCalibration.open(embedder,
        settings(new CalibrationTarget.EscalationRate(0.2), Optional.empty()));

    assertThat(reloaded.state().examples()).isEqualTo(60);
    Random held = new Random(42);
    double codeScores = 0;
    double chatScores = 0;
    for (int i = 0; i < 40; i++) {
      String prompt = i % 2 == 0 ? code(held) : chat(held);
      double score = reloaded.score(prompt);
      assertThat(score).as(prompt).isEqualTo(first.score(prompt)); // bit for bit: the same decisions at any threshold
      assertThat(fresh.score(prompt)).isEqualTo(0.5);
      if (i % 2 == 0) {
        codeScores += score;
      } else {
        chatScores += score;
      }
    }
    assertThat(codeScores).as("what was learned came back").isGreaterThan(chatScores + 5);
    assertThat(file.getParent()).isDirectoryNotContaining("glob:**.tmp");
  }

  private static double meanCosine(List<float[]> a, List<float[]> b) {
    double sum = 0;
    int n = 0;
    for (float[] x : a) {
      for (float[] y : b) {
        if (x != y) {
          sum += cosine(x, y);
          n++;
        }
      }
    }
    return sum / n;
  }

  private static double cosine(float[] x, float[] y) {
    double dot = 0;
    double nx = 0;
    double ny = 0;
    for (int i = 0; i < x.length; i++) {
      dot += x[i] * y[i];
      nx += x[i] * x[i];
      ny += y[i] * y[i];
    }
    return dot / Math.sqrt(nx * ny);
  }
}
