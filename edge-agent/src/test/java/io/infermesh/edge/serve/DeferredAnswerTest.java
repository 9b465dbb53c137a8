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
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link DeferredAnswer} in the {@link CompletionService}: which answers are kept for the core, and how. */
class DeferredAnswerTest {
  private static final String ID = "ra_" + "0".repeat(32);
  private final FakeTicker ticker = new FakeTicker();
  private final FakeEngine engine = new FakeEngine(256, 1);
  private final AtomicReference<RouteDecision> decision = new AtomicReference<>();
  private final Queue<Escalator.Call> kept = new ConcurrentLinkedQueue<>();
  private final Set<String> alwaysFor = Set.of("field");
  private final Deferrals deferrals = new Deferrals() {
    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public boolean always(Tenant tenant) {
      return alwaysFor.contains(tenant.name());
    }

    @Override
    public Deferral defer(Escalator.Call replay) {
      kept.add(replay);
      return Deferral.deferred(ID);
    }

    @Override
    public Answer answer(String id, Tenant tenant) {
      return Answer.UNKNOWN;
    }
  };

  private CompletionService service(Deferrals with) {
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().name("fake").contextSize(256).threads(1).defaultMaxTokens(8).build())
        .withEscalation(Escalation.NONE.withTarget("core:9443", Path.of("certs"), "edge-0"));
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
            // the core is down: continue locally, as CoreStream does
            return call.fallback().continueAfter("", 0, new RouteDecision(Route.EDGE_DEGRADED, "core-failed"));
          }
        })
        .deferrals(with)
        .cache(ResponseCache.create(0, Duration.ofMinutes(1), ticker))
        .apiKeys(ApiKeys.of(config.auth()))
        .rateLimiter(RateLimiter.create(ticker::read))
        .admission(AdmissionQueue.create(1, 4))
        .metrics(EdgeMetrics.of(new SimpleMeterRegistry()))
        .ticker(ticker)
        .build();
    s.engineLoaded(engine);
    return s;
  }

  @AfterEach
  void stop() {
    engine.release();
  }

  private static CompletionRequest chat(Map<String, String> hints) {
    return new CompletionRequest("req-1", Operation.CHAT, "auto", List.of(ChatMessage.of(Role.USER, "hi")), null,
        new SamplingRequest(3, 0.0, null, null, null, List.of()), hints, Optional.empty());
  }

  private static Tenant tenant(String name) {
    return new Tenant(name, 0, 0);
  }

  private static Served readAll(CompletionStream stream) throws InterruptedException {
    try (stream) {
      assertThat(stream.readRest(new StringBuilder())).isInstanceOf(StreamEvent.Done.class);
      return stream.served();
    }
  }

  @Test
  void open_coreFailsAndReanswerAsked_keepsTheRequestForTheCoreAtLowPriority() throws Exception {
    decision.set(new RouteDecision(Route.CORE, "difficulty-high"));
    engine.release();

    Served served = readAll(service(deferrals).open(chat(Map.of("reanswer", "deferred", "priority", "high")),
        tenant("acme")));

    assertThat(served.route().reason()).isEqualTo("core-failed");
    assertThat(served.deferral()).hasValue(Deferral.deferred(ID));
    Escalator.Call replay = kept.remove();
    assertThat(kept).isEmpty();
    assertThat(replay.request().hints()).isEqualTo(Map.of("priority", "low"));
    assertThat(replay.decision().reason()).isEqualTo("reanswer-deferred");
    assertThat(replay.fallback()).isNull();
    assertThat(replay.sampling().maxTokens()).isEqualTo(3);
    assertThat(replay.tenant().name()).isEqualTo("acme");
    assertThat(replay.requestId()).isEqualTo("req-1");
  }

  @Test
  void open_plannedDegraded_isKeptBeforeTheFirstEvent() throws Exception {
    decision.set(new RouteDecision(Route.EDGE_DEGRADED, "core-unreachable"));

    CompletionStream stream = service(deferrals).open(chat(Map.of("reanswer", "deferred")), tenant("acme"));

    assertThat(stream.served().deferral()).hasValue(Deferral.deferred(ID));
    engine.release();
    readAll(stream);
    assertThat(kept).hasSize(1);
  }

  @Test
  void open_tenantPolicy_keepsWithoutTheHint() throws Exception {
    decision.set(new RouteDecision(Route.EDGE_DEGRADED, "circuit-open"));
    engine.release();

    assertThat(readAll(service(deferrals).open(chat(Map.of()), tenant("field"))).deferral()).isPresent();
    assertThat(readAll(service(deferrals).open(chat(Map.of()), tenant("acme"))).deferral()).isEmpty();
    assertThat(kept).hasSize(1);
  }

  @Test
  void open_notDegradedOrNoCore_keepsNothing() throws Exception {
    engine.release();
    decision.set(new RouteDecision(Route.EDGE, "difficulty-low"));
    assertThat(readAll(service(deferrals).open(chat(Map.of("reanswer", "deferred")), tenant("acme"))).deferral())
        .isEmpty();
    decision.set(new RouteDecision(Route.EDGE_DEGRADED, "no-core"));
    assertThat(readAll(service(deferrals).open(chat(Map.of("reanswer", "deferred")), tenant("acme"))).deferral())
        .isEmpty();
    assertThat(kept).isEmpty();
  }

  @Test
  void open_reanswerAskedWhileOff_is400NamingIt() {
    decision.set(new RouteDecision(Route.EDGE_DEGRADED, "core-unreachable"));

    assertThatThrownBy(() -> service(Deferrals.NONE).open(chat(Map.of("reanswer", "deferred")), tenant("acme")))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.kind()).isEqualTo(EdgeException.Kind.INVALID_ARGUMENT))
        .hasMessageContaining("reanswer: this edge does not keep re-answers");
  }

  @Test
  void open_toolCalls_refusedADeferralButAnswered() throws Exception {
    decision.set(new RouteDecision(Route.EDGE_DEGRADED, "core-unreachable"));
    engine.release();
    CompletionRequest tools = chat(Map.of("reanswer", "deferred"));
    tools = new CompletionRequest(tools.requestId(), tools.operation(), tools.model(), tools.messages(), null,
        tools.sampling(), tools.hints(), Optional.empty(), StructuredOutput.tools(new StructuredOutput.Tools(
            List.of(new StructuredOutput.Function("lookup", "{\"type\":\"object\"}")), "auto", false)));

    assertThat(readAll(service(deferrals).open(tools, tenant("acme"))).deferral())
        .hasValue(Deferral.refused(Deferral.TOOL_CALLS));
    assertThat(kept).isEmpty();
  }
}
