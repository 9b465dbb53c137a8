package io.infermesh.edge.calibrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.LocalAnswerTap;
import io.infermesh.edge.serve.SamplingRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The calibration's policies without sockets or models: agreement, targets, thresholds, the shadow queue. */
class CalibrationPolicyTest {
  @Test
  void similarity_wordsNotPunctuation_measuresEditDistance() {
    assertThat(WordEditSimilarity.similarity("Paris is the capital.", "paris  is the CAPITAL")).isEqualTo(1.0);
    assertThat(WordEditSimilarity.similarity("", "")).isEqualTo(1.0);
    assertThat(WordEditSimilarity.similarity("a b c d", "a b x d")).isEqualTo(0.75);
    assertThat(WordEditSimilarity.similarity("a b c d", "")).isEqualTo(0.0);
    assertThat(WordEditSimilarity.similarity("one two", "three four five six")).isEqualTo(0.0);
  }

  @Test
  void similarity_hugeAnswers_comparesTheFirstWordsOnly() {
    String many = "w ".repeat(100_000);
    assertThat(WordEditSimilarity.words(many)).hasSize(WordEditSimilarity.MAX_WORDS);
    assertThat(WordEditSimilarity.similarity(many, many + " tail")).isEqualTo(1.0);
  }

  @Test
  void parse_targets_strictly() {
    assertThat(CalibrationTarget.parse("escalation_rate=0.2")).isEqualTo(new CalibrationTarget.EscalationRate(0.2));
    assertThat(CalibrationTarget.parse("agreement = 0.9")).isEqualTo(new CalibrationTarget.Agreement(0.9));
    assertThatThrownBy(() -> CalibrationTarget.parse("escalation_rate=1")).hasMessageContaining("(0, 1)");
    assertThatThrownBy(() -> CalibrationTarget.parse("accuracy=0.5")).hasMessageContaining("unknown target");
    assertThatThrownBy(() -> CalibrationTarget.parse("0.2")).hasMessageContaining("escalation_rate=");
    assertThatThrownBy(() -> CalibrationTarget.parse("agreement=high")).hasMessageContaining("not a number");
  }

  @Test
  void escalationRate_manyTiedScores_stillMeetsTheTarget() {
    LogitThreshold t = LogitThreshold.forEscalationRate(0.3, 0.05, 0.5);
    Random r = new Random(3);
    int up = 0;
    int n = 0;
    for (int i = 0; i < 6000; i++) {
      // half the scores are one value: a quantile cannot split them, the controller alternates
      double score = r.nextBoolean() ? 0.2 : r.nextDouble();
      boolean escalated = t.escalate(score);
      if (i >= 2000) {
        n++;
        up += escalated ? 1 : 0;
      }
    }
    assertThat((double) up / n).isBetween(0.29, 0.31);
  }

  @Test
  void agreement_belowTarget_lowersTheThreshold_aboveRaisesIt() {
    LogitThreshold t = LogitThreshold.forAgreement(0.9, 0.1, 0.5);
    for (int i = 0; i < 10; i++) {
      t.observe(false);
    }
    assertThat(t.value()).isLessThan(0.5);
    double low = t.value();
    t.escalate(0.01); // decisions do not move an agreement threshold
    assertThat(t.value()).isEqualTo(low);
    for (int i = 0; i < 200; i++) {
      t.observe(true);
    }
    assertThat(t.value()).isGreaterThan(0.5);
  }

  @Test
  void shadow_fullQueue_dropsAndCountsWithoutBlocking() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    Escalator slowCore = new Escalator() {
      @Override
      public CoreState state() {
        return CoreState.AVAILABLE;
      }

      @Override
      public CompletionStream escalate(Call call) {
        calls.incrementAndGet();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("the core went away");
      }
    };
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    OnlineCalibration calibration = OnlineCalibration.open(text -> new float[] {text.length(), 1},
        new OnlineCalibration.Settings(new CalibrationTarget.EscalationRate(0.2), 0.8, 0.05, 0, 0.5, 0.05,
            Optional.empty()));
    double[] draws = {0.05, 0.5, 0.09};
    AtomicInteger draw = new AtomicInteger();
    try (ShadowEscalation shadows = ShadowEscalation.start(slowCore, calibration,
        new ShadowEscalation.Settings(0.1, 1, 2, Duration.ofSeconds(5)), () -> draws[draw.getAndIncrement()],
        registry)) {
      assertThat(shadows.sample()).isTrue();
      assertThat(shadows.sample()).isFalse();
      assertThat(shadows.sample()).isTrue();
      LocalAnswerTap.LocalAnswer answer = new LocalAnswerTap.LocalAnswer("r1", Tenant.ANONYMOUS,
          CompletionRequest.chat(List.of(ChatMessage.of(Role.USER, "hi")), new SamplingRequest(4, 0.0, null, null,
              null, List.of())), new SamplingParams(4, 0f, 1f, 0, OptionalLong.empty(), List.of()), "hi", "hello");
      shadows.answered(answer); // taken by the one worker
      await().atMost(Duration.ofSeconds(20)).until(() -> calls.get() == 1);
      for (int i = 0; i < 5; i++) {
        shadows.answered(answer); // two wait, three are dropped
      }
      assertThat(registry.counter("infermesh.calibration.shadow", "result", "dropped").count()).isEqualTo(3);
      assertThat(registry.counter("infermesh.calibration.shadow", "result", "queued").count()).isEqualTo(3);
      release.countDown();
      await().atMost(Duration.ofSeconds(20)).until(
          () -> registry.counter("infermesh.calibration.shadow", "result", "failed").count() == 3);
      assertThat(calibration.state().examples()).isZero(); // a failed shadow teaches nothing
    }
  }
}
