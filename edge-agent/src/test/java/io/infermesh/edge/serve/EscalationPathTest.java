package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.FakeTicker;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.ResponseCache;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link CompletionService} with a scripted router and escalator: what each route does, without sockets. */
class EscalationPathTest {
  private final FakeTicker ticker = new FakeTicker();
  private final FakeEngine engine = new FakeEngine(256, 1);
  private final AtomicReference<RouteDecision> decision = new AtomicReference<>();
  private final AtomicReference<Escalator.Call> escalated = new AtomicReference<>();
  /** What the core does with a call; by default it "fails" at once, as CoreStream does: continue locally if allowed. */
  private final AtomicReference<Function<Escalator.Call, CompletionStream>> core = new AtomicReference<>(call -> {
    if (call.fallback() == null) {
      throw EdgeException.unavailable("core down");
    }
    return call.fallback().continueAfter("", 0, new RouteDecision(Route.EDGE_DEGRADED, "core-failed"));
  });
  private final AtomicReference<Egress> egress = new AtomicReference<>(Egress.NONE);
  private final AtomicInteger egressOpened = new AtomicInteger();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CompletionService service;

  EscalationPathTest() {
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().name("fake").contextSize(256).threads(1).defaultMaxTokens(8).build())
        .withEscalation(Escalation.NONE.withTarget("core:9443", Path.of("certs"), "edge-0"));
    service = CompletionService.builder()
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
            return core.get().apply(call);
          }
        })
        .egress(call -> {
          egressOpened.incrementAndGet();
          return egress.get().open(call);
        })
        .cache(ResponseCache.create(1 << 20, Duration.ofMinutes(1), ticker))
        .apiKeys(ApiKeys.of(config.auth()))
        .rateLimiter(RateLimiter.create(ticker::read))
        .admission(AdmissionQueue.create(1, 4))
        .metrics(EdgeMetrics.of(registry))
        .ticker(ticker)
        .build();
    service.engineLoaded(engine);
  }

  @AfterEach
  void stop() {
    engine.release();
  }

  private static CompletionRequest chat(Map<String, String> hints, int maxTokens) {
    return new CompletionRequest("", io.infermesh.edge.serve.Operation.CHAT, "auto",
        List.of(ChatMessage.of(Role.USER, "hi")), null,
        new SamplingRequest(maxTokens, 0.0, null, null, null, List.of()), hints, Optional.empty());
  }

  @Test
  void open_routedToCore_sendsTheCallAndFinishesLocallyWhenTheCoreFails() throws Exception {
    decision.set(new RouteDecision(Route.CORE, "alias-core"));
    CompletionStream stream = service.open(chat(Map.of(), 3), Tenant.ANONYMOUS);
    assertThat(escalated.get().decision().reason()).isEqualTo("alias-core");
    assertThat(escalated.get().sampling().maxTokens()).isEqualTo(3);
    assertThat(escalated.get().timeout()).isLessThanOrEqualTo(Escalation.NONE.timeout());
    engine.release();
    StreamEvent e;
    do {
      e = stream.next();
    } while (e instanceof StreamEvent.Delta);
    assertThat(e).isInstanceOf(StreamEvent.Done.class);
    assertThat(((StreamEvent.Done) e).finishReason()).isIn(FinishReason.LENGTH, FinishReason.STOP);
    assertThat(stream.served().route()).isEqualTo(new RouteDecision(Route.EDGE_DEGRADED, "core-failed"));
    stream.close();
    assertThat(service.inFlight()).isZero();
    // counted as it was served (the degraded-answers alert reads this), not as a plain edge answer
    assertThat(registry.get("gen_ai.server.request.duration").tag("infermesh.route", "edge-degraded").timer().count())
        .isEqualTo(1);
  }

  @Test
  void open_requireCore_hasNoFallback() {
    decision.set(new RouteDecision(Route.CORE, "require-core"));
    assertThatThrownBy(() -> service.open(chat(Map.of("require", "core"), 3), Tenant.ANONYMOUS))
        .isInstanceOf(EdgeException.class).hasMessageContaining("core down");
    assertThat(escalated.get().fallback()).isNull();
  }

  @Test
  void open_refused_isUnavailableNamingTheReason() {
    decision.set(new RouteDecision(Route.REFUSED, "core-required-unavailable"));
    assertThatThrownBy(() -> service.open(chat(Map.of("require", "core"), 3), Tenant.ANONYMOUS))
        .isInstanceOfSatisfying(EdgeException.class,
            e -> assertThat(e.kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE))
        .hasMessageContaining("core-required-unavailable");
  }

  @Test
  void open_maxTokensBeyondTheEdgeContext_isLeftToTheCore() {
    decision.set(new RouteDecision(Route.CORE, "exceeds-edge-context"));
    assertThatThrownBy(() -> service.open(chat(Map.of("require", "core"), 1000), Tenant.ANONYMOUS))
        .isInstanceOf(EdgeException.class);
    assertThat(escalated.get().sampling().maxTokens()).isEqualTo(1000);
  }

  private static CompletionRequest chatAbout(String name) {
    return new CompletionRequest("", Operation.CHAT, "auto", List.of(ChatMessage.of(Role.USER, "Write to " + name)),
        null, new SamplingRequest(3, 0.0, null, null, null, List.of()), Map.of(), Optional.empty());
  }

  private static String readAll(CompletionStream stream) throws InterruptedException {
    StringBuilder text = new StringBuilder();
    assertThat(stream.readRest(text)).isInstanceOf(StreamEvent.Done.class);
    return text.toString();
  }

  @Test
  void open_routedToCoreWithAnEgress_sendsTheRewrittenCallAndRestoresTheAnswer() throws Exception {
    decision.set(new RouteDecision(Route.CORE, "difficulty-high"));
    egress.set(new Renaming("Alice", "[NAME]"));
    core.set(call -> ScriptedCoreStream.answering(call, "Dear [NA", "ME], hello"));

    try (CompletionStream stream = service.open(chatAbout("Alice"), Tenant.ANONYMOUS)) {
      assertThat(readAll(stream)).isEqualTo("Dear Alice, hello");
    }

    assertThat(escalated.get().request().messages().get(0).content()).isEqualTo("Write to [NAME]");
    assertThat(egressOpened).hasValue(1);
    assertThat(service.inFlight()).isZero();
  }

  @Test
  void open_answeredOnTheEdge_neverOpensTheEgress() throws Exception {
    decision.set(new RouteDecision(Route.EDGE, "difficulty-low"));
    egress.set(new Renaming("Alice", "[NAME]"));
    engine.release();

    try (CompletionStream stream = service.open(chatAbout("Alice"), Tenant.ANONYMOUS)) {
      readAll(stream);
    }

    assertThat(egressOpened).hasValue(0);
    assertThat(engine.startedPrompts()).containsExactly("user: Write to Alice\n");
  }

  @Test
  void open_coreFailsMidAnswerWithAnEgress_edgeContinuesFromTheTextTheClientWasShown() throws Exception {
    decision.set(new RouteDecision(Route.CORE, "difficulty-high"));
    egress.set(new Renaming("Alice", "[NAME]"));
    core.set(call -> ScriptedCoreStream.failingAfter(call, "Dear [NA", "ME], we"));
    engine.release();

    try (CompletionStream stream = service.open(chatAbout("Alice"), Tenant.ANONYMOUS)) {
      assertThat(readAll(stream)).isEqualTo("Dear Alice, wetok0"); // the edge's one token left of max_tokens 3
      assertThat(stream.served().route().reason()).isEqualTo("core-failed-midstream");
    }

    assertThat(engine.startedPrompts()).containsExactly("user: Write to Alice\nDear Alice, we");
    assertThat(service.inFlight()).isZero();
  }
}
