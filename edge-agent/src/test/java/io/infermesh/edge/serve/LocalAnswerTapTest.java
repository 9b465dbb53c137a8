package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.FakeTicker;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.MeshRouter;
import io.infermesh.edge.route.Threshold;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which local answers the service offers to the {@link LocalAnswerTap} (shadow escalation), and with what text. */
class LocalAnswerTapTest {
  private final FakeTicker ticker = new FakeTicker();
  private final FakeEngine engine = new FakeEngine(256, 1);
  private final List<LocalAnswerTap.LocalAnswer> offered = new CopyOnWriteArrayList<>();
  private final LocalAnswerTap tap = new LocalAnswerTap() {
    @Override
    public boolean sample() {
      return true;
    }

    @Override
    public void answered(LocalAnswer answer) {
      offered.add(answer);
    }
  };
  private final CompletionService service = CompletionService.builder()
      .config(EdgeConfig.defaults().withModel(EdgeConfig.Model.builder().name("fake").contextSize(256).threads(1)
          .defaultMaxTokens(8).build()))
      .router(MeshRouter.builder().core(() -> CoreState.AVAILABLE).threshold(Threshold.fixed(1.0)).build())
      .cache(ResponseCache.create(0, Duration.ofMinutes(1), ticker))
      .apiKeys(ApiKeys.of(EdgeConfig.Auth.NONE))
      .rateLimiter(RateLimiter.create(ticker::read))
      .admission(AdmissionQueue.create(1, 4))
      .metrics(EdgeMetrics.of(new SimpleMeterRegistry()))
      .ticker(ticker)
      .localAnswerTap(tap)
      .build();

  @AfterEach
  void stop() {
    engine.release();
  }

  private String answer(String model, Map<String, String> hints) throws InterruptedException {
    service.engineLoaded(engine);
    CompletionRequest r = new CompletionRequest("", Operation.CHAT, model, List.of(ChatMessage.of(Role.USER,
        "hello there")), null, new SamplingRequest(4, 0.0, null, null, null, List.of()), hints, Optional.empty());
    StringBuilder text = new StringBuilder();
    try (CompletionStream s = service.open(r, Tenant.ANONYMOUS)) {
      for (StreamEvent e : StreamEvents.untilEnd(s)) {
        if (e instanceof StreamEvent.Delta d) {
          text.append(d.text());
        }
      }
    }
    return text.toString();
  }

  @Test
  void open_lowDifficultyLocalAnswer_isOfferedWithTheTextTheClientRead() throws Exception {
    String text = answer("", Map.of());
    assertThat(offered).hasSize(1);
    assertThat(offered.get(0).answer()).isEqualTo(text).isNotEmpty();
    assertThat(offered.get(0).promptText()).isEqualTo("hello there");
  }

  @Test
  void open_localOnlyOrEdgeAlias_isNeverOffered() throws Exception {
    answer("", Map.of(RoutingHints.PRIVACY, "local-only"));
    answer("edge", Map.of());
    assertThat(offered).isEmpty();
  }
}
