package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.FakeTicker;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.config.Cascade;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The cascade (routing.cascade) on the tiny edge model: the local draft, k short samples, and the
 * judgement, with a scripted router and a core that records what it was sent.
 */
class CascadeTest {
  private final AtomicReference<RouteDecision> decision = new AtomicReference<>(
      new RouteDecision(Route.EDGE, "difficulty-low"));
  private final AtomicReference<Escalator.Call> escalated = new AtomicReference<>();

  private CompletionService service(Cascade cascade) {
    FakeTicker ticker = new FakeTicker();
    EdgeConfig config = TinyModel.config()
        .withEscalation(Escalation.NONE.withTarget("core:9443", Path.of("certs"), "edge-0"))
        .withRouting(EdgeConfig.defaults().routing().withCascade(cascade));
    CompletionService s = CompletionService.builder()
        .config(config)
        .router(r -> decision.get())
        .escalator(new Escalator() {
          @Override
          public CoreState state() {
            return CoreState.AVAILABLE;
          }

          @Override
          public CompletionStream escalate(Call call) {
            escalated.set(call);
            return new ReplayStream(new Served(call.requestId(), call.decision(), "core-model", "1"),
                io.infermesh.edge.cache.CachedCompletion.of(List.of("from the core"), FinishReason.STOP, 5, 3), 0);
          }
        })
        .cache(ResponseCache.create(1 << 20, Duration.ofMinutes(1), ticker))
        .apiKeys(ApiKeys.of(config.auth()))
        .rateLimiter(RateLimiter.create(ticker::read))
        .admission(AdmissionQueue.create(TinyModel.PARALLEL, 4))
        .metrics(EdgeMetrics.of(new SimpleMeterRegistry()))
        .ticker(ticker)
        .build();
    s.engineLoaded(TinyModel.engine());
    return s;
  }

  private static CompletionRequest chat(String text) {
    return new CompletionRequest("", Operation.CHAT, "auto", List.of(ChatMessage.of(Role.USER, text)), null,
        new SamplingRequest(12, 0.0, null, null, null, List.of()), Map.of(), Optional.empty());
  }

  private static String readAll(CompletionStream stream) throws InterruptedException {
    StringBuilder text = new StringBuilder();
    StreamEvent end = stream.readRest(text);
    assertThat(end).isInstanceOf(StreamEvent.Done.class);
    return text.toString();
  }

  /** The edge's own answer with the cascade off: what a kept draft must equal. */
  private String plainAnswer(String prompt) throws Exception {
    try (CompletionStream s = service(Cascade.DISABLED).open(chat(prompt), Tenant.ANONYMOUS)) {
      assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.EDGE, "difficulty-low"));
      return readAll(s);
    }
  }

  @Test
  void open_samplesAgreeEnough_answersWithTheLocalDraft() throws Exception {
    String expected = plainAnswer("Tell me a story");
    CompletionService service = service(Cascade.builder().enabled(true).sampleMaxTokens(6).temperature(1.5).minAgreement(0.0).build());
    try (CompletionStream s = service.open(chat("Tell me a story"), Tenant.ANONYMOUS)) {
      assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.EDGE, "cascade-accepted"));
      assertThat(readAll(s)).isEqualTo(expected).isNotEmpty();
    }
    assertThat(escalated.get()).isNull();
    assertThat(service.inFlight()).isZero();
  }

  @Test
  void open_samplesDisagree_escalatesWithTheLocalDraft() throws Exception {
    String draft = plainAnswer("Tell me a story");
    // at temperature 2 the tiny model's samples differ; requiring full agreement rejects the draft
    CompletionService service = service(Cascade.builder().enabled(true).sampleMaxTokens(6).temperature(2.0).minAgreement(1.0).build());
    try (CompletionStream s = service.open(chat("Tell me a story"), Tenant.ANONYMOUS)) {
      assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.CORE, "cascade-rejected"));
      assertThat(readAll(s)).isEqualTo("from the core");
    }
    assertThat(escalated.get().decision().reason()).isEqualTo("cascade-rejected");
    assertThat(escalated.get().localDraft()).isEqualTo(draft).isNotEmpty();
    assertThat(escalated.get().fallback()).isNotNull();
  }

  @Test
  void open_hardRuleKeptTheRequestHere_noCascade() throws Exception {
    decision.set(new RouteDecision(Route.EDGE, "privacy-local-only"));
    CompletionService service = service(Cascade.builder().enabled(true).sampleMaxTokens(6).temperature(2.0).minAgreement(1.0).build());
    try (CompletionStream s = service.open(chat("Tell me a story"), Tenant.ANONYMOUS)) {
      assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.EDGE, "privacy-local-only"));
      readAll(s);
    }
    assertThat(escalated.get()).isNull();
  }
}
