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
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.route.LocalOnlyRouter;
import io.infermesh.edge.route.Route;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CompletionServiceTest {
  private final FakeTicker ticker = new FakeTicker();
  private final FakeEngine engine = new FakeEngine(256, 1);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AdmissionQueue admission = AdmissionQueue.create(1, 1);
  private final CompletionService service = service(EdgeConfig.defaults(), admission);

  private CompletionService service(EdgeConfig config, AdmissionQueue queue) {
    CompletionService s = CompletionService.builder()
        .config(config.withModel(EdgeConfig.Model.builder().name("fake").contextSize(256).threads(1).defaultMaxTokens(8).build()))
        .router(new LocalOnlyRouter())
        .cache(ResponseCache.create(1 << 20, Duration.ofMinutes(1), ticker))
        .apiKeys(ApiKeys.of(config.auth()))
        .rateLimiter(RateLimiter.create(ticker::read))
        .admission(queue)
        .metrics(EdgeMetrics.of(registry))
        .ticker(ticker)
        .build();
    s.engineLoaded(engine);
    return s;
  }

  @AfterEach
  void stop() {
    engine.release();
  }

  private static CompletionRequest chat(String text, Integer maxTokens, Double temperature) {
    return CompletionRequest.chat(List.of(ChatMessage.of(Role.USER, text)),
        new SamplingRequest(maxTokens, temperature, null, null, null, List.of()));
  }

  private static List<StreamEvent> drain(CompletionStream stream) throws InterruptedException {
    return StreamEvents.untilEnd(stream);
  }

  private static String text(List<StreamEvent> events) {
    StringBuilder out = new StringBuilder();
    events.stream().filter(StreamEvent.Delta.class::isInstance).forEach(e -> out.append(((StreamEvent.Delta) e).text()));
    return out.toString();
  }

  @Test
  void open_chat_streamsDeltasThenDone() throws Exception {
    CompletionStream stream = service.open(chat("hi", 3, 1.0), Tenant.ANONYMOUS);

    List<StreamEvent> events = drain(stream);

    assertThat(stream.served().route().route()).isEqualTo(Route.EDGE);
    assertThat(stream.served().route().reason()).isEqualTo("no-core-configured");
    assertThat(stream.served().requestId()).startsWith("req-");
    assertThat(text(events)).isEqualTo("tok0 tok1 tok2");
    assertThat(events.get(events.size() - 1)).isEqualTo(
        new StreamEvent.Done(FinishReason.LENGTH, new Usage("user: hi\n".length(), 3, Usage.CACHED_UNREPORTED)));
    assertThat(registry.find("gen_ai.server.request.duration").tag("error.type", "none").timer().count()).isEqualTo(1);
    assertThat(registry.find("gen_ai.server.time_to_first_token").timer()).isNotNull();
    assertThat(registry.find("gen_ai.client.token.usage").tag("gen_ai.token.type", "output").summary().totalAmount())
        .isEqualTo(3);
  }

  @Test
  void open_greedyTwice_replaysTheSecondFromCache() throws Exception {
    String first = text(drain(service.open(chat("hi", 3, 0.0), Tenant.ANONYMOUS)));

    CompletionStream again = service.open(chat("hi", 3, 0.0), Tenant.ANONYMOUS);
    List<StreamEvent> events = drain(again);

    assertThat(again.served().route().route()).isEqualTo(Route.CACHE);
    assertThat(again.served().route().reason()).isEqualTo("cache-hit");
    assertThat(text(events)).isEqualTo(first);
    assertThat(events).filteredOn(StreamEvent.Delta.class::isInstance).hasSize(3);
    assertThat(((StreamEvent.Done) events.get(events.size() - 1)).usage().cachedTokens()).isEqualTo(9);
    assertThat(engine.started()).isEqualTo(1);
    assertThat(registry.find("infermesh.edge.cache.requests").tag("result", "hit").counter().count()).isEqualTo(1);
  }

  @Test
  void open_sameGreedyRequestWithAnotherAliasOrRequirement_isNotServedFromCache() throws Exception {
    CompletionRequest auto = chat("hi", 3, 0.0);
    drain(service.open(auto, Tenant.ANONYMOUS));

    CompletionRequest edgeAlias = new CompletionRequest("", auto.operation(), "edge", auto.messages(), null,
        auto.sampling(), Map.of(), Optional.empty());
    CompletionRequest requireCore = new CompletionRequest("", auto.operation(), "", auto.messages(), null,
        auto.sampling(), Map.of("require", "core"), Optional.empty());
    CompletionStream viaEdge = service.open(edgeAlias, Tenant.ANONYMOUS);
    drain(viaEdge);

    assertThat(viaEdge.served().route().route()).isNotEqualTo(Route.CACHE);
    assertThat(engine.started()).isEqualTo(2);
    // this edge has no core: a request that requires one gets no answer at all, cached or local
    assertThatThrownBy(() -> service.open(requireCore, Tenant.ANONYMOUS))
        .isInstanceOf(EdgeException.class).hasMessageContaining("core-required-not-configured");
    assertThat(engine.started()).isEqualTo(2);
  }

  @Test
  void open_sameGreedyRequestFromAnotherTenant_isNotServedFromTheFirstTenantsCache() throws Exception {
    drain(service.open(chat("hi", 3, 0.0), new Tenant("a", 0, 0)));

    CompletionStream other = service.open(chat("hi", 3, 0.0), new Tenant("b", 0, 0));
    drain(other);

    assertThat(other.served().route().route()).isEqualTo(Route.EDGE);
    assertThat(engine.started()).isEqualTo(2);
  }

  @Test
  void open_sampledRequest_isNeverCached() throws Exception {
    drain(service.open(chat("hi", 3, 0.7), Tenant.ANONYMOUS));
    CompletionStream again = service.open(chat("hi", 3, 0.7), Tenant.ANONYMOUS);
    drain(again);

    assertThat(again.served().route().route()).isEqualTo(Route.EDGE);
    assertThat(engine.started()).isEqualTo(2);
  }

  @Test
  void open_slotAndQueueFull_isRefusedWithARetryHint() throws Exception {
    engine.hold();
    CompletionStream running = service.open(chat("a", 5, 1.0), Tenant.ANONYMOUS);
    assertThat(running.next()).isEqualTo(new StreamEvent.Delta("tok0")); // holds the only slot
    CompletionStream waiting = service.open(chat("b", 5, 1.0), Tenant.ANONYMOUS);

    assertThatThrownBy(() -> service.open(chat("c", 5, 1.0), Tenant.ANONYMOUS))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.kind()).isEqualTo(EdgeException.Kind.QUEUE_FULL);
          assertThat(e.retryAfter()).contains(Duration.ofSeconds(1));
        });
    assertThat(registry.find("infermesh.edge.rejections").tag("reason", "queue_full").counter().count()).isEqualTo(1);

    waiting.close(); // gives up its place in line
    CompletionStream next = service.open(chat("d", 5, 1.0), Tenant.ANONYMOUS);
    engine.release();
    assertThat(text(drain(running))).isEqualTo(" tok1 tok2 tok3 tok4");
    assertThat(drain(next).get(5)).isInstanceOf(StreamEvent.Done.class);
  }

  @Test
  void open_freedSlot_goesToTheHighPriorityWaiterBeforeAnEarlierLowOne() throws Exception {
    CompletionService twoWaiting = service(EdgeConfig.defaults(), AdmissionQueue.create(1, 2));
    engine.hold();
    CompletionStream running = twoWaiting.open(chat("a", 2, 1.0), Tenant.ANONYMOUS);
    assertThat(running.next()).isEqualTo(new StreamEvent.Delta("tok0"));
    CompletionStream low = twoWaiting.open(withPriority(chat("b", 2, 1.0), "low"), Tenant.ANONYMOUS);
    CompletionStream high = twoWaiting.open(withPriority(chat("c", 2, 1.0), "HIGH"), Tenant.ANONYMOUS);
    CompletableFuture<List<StreamEvent>> lowEvents = CompletableFuture.supplyAsync(() -> {
      try {
        return drain(low); // waits in line from now on
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    engine.release();
    drain(running);
    List<StreamEvent> highEvents = drain(high);

    assertThat(highEvents.get(highEvents.size() - 1)).isInstanceOf(StreamEvent.Done.class);
    assertThat(lowEvents.get(10, TimeUnit.SECONDS).get(2)).isInstanceOf(StreamEvent.Done.class);
    assertThat(engine.startedPrompts()).containsExactly("user: a\n", "user: c\n", "user: b\n");
  }

  private static CompletionRequest withPriority(CompletionRequest r, String priority) {
    return new CompletionRequest(r.requestId(), r.operation(), r.model(), r.messages(), r.prompt(), r.sampling(),
        Map.of("priority", priority), r.timeout());
  }

  @Test
  void next_deadlinePassesWhileGenerating_failsWithDeadlineExceeded() throws Exception {
    engine.hold();
    CompletionRequest hurried = new CompletionRequest("r-1", Operation.CHAT, "", List.of(ChatMessage.of(Role.USER, "a")),
        null, new SamplingRequest(5, 1.0, null, null, null, List.of()), Map.of(), Optional.of(Duration.ofSeconds(2)));
    CompletionStream stream = service.open(hurried, Tenant.ANONYMOUS);
    assertThat(stream.next()).isEqualTo(new StreamEvent.Delta("tok0"));

    ticker.advance(Duration.ofSeconds(3));
    List<StreamEvent> events = drain(stream);

    assertThat(events).hasSize(1);
    assertThat(events.get(events.size() - 1)).isInstanceOfSatisfying(StreamEvent.Failed.class,
        f -> assertThat(f.error().kind()).isEqualTo(EdgeException.Kind.DEADLINE_EXCEEDED));
    assertThat(engine.cancelled()).isEqualTo(1);
  }

  @Test
  void close_beforeTheEnd_stopsTheEngineAndFreesTheSlot() throws Exception {
    CompletionStream stream = service.open(chat("a", 50, 1.0), Tenant.ANONYMOUS);
    stream.next();

    stream.close(); // the transport gave up, e.g. a failed write

    assertThat(engine.cancelled()).isEqualTo(1);
    assertThat(service.inFlight()).isZero();
    assertThat(drain(service.open(chat("b", 2, 1.0), Tenant.ANONYMOUS))).last().isInstanceOf(StreamEvent.Done.class);
  }

  @Test
  void cancel_whileGenerating_stopsTheEngine() throws Exception {
    engine.hold();
    CompletionStream stream = service.open(chat("a", 50, 1.0), Tenant.ANONYMOUS);
    assertThat(stream.next()).isEqualTo(new StreamEvent.Delta("tok0"));

    stream.cancel(); // from another thread, e.g. gRPC's cancellation listener

    assertThat(stream.next()).isInstanceOfSatisfying(StreamEvent.Failed.class,
        f -> assertThat(f.error().kind()).isEqualTo(EdgeException.Kind.CANCELLED));
    assertThat(service.awaitIdle(Duration.ofSeconds(5))).isTrue();
    assertThat(engine.cancelled()).isEqualTo(1);
  }

  @Test
  void drain_refusesNewRequestsAndAbortAllEndsTheRunningOnes() throws Exception {
    engine.hold();
    CompletionStream running = service.open(chat("a", 5, 1.0), Tenant.ANONYMOUS);
    assertThat(running.next()).isEqualTo(new StreamEvent.Delta("tok0"));
    CompletionStream queued = service.open(chat("b", 5, 1.0), Tenant.ANONYMOUS);
    assertThat(registry.get("infermesh.edge.requests.in_flight").gauge().value()).isEqualTo(2);

    service.drain();

    assertThat(service.ready()).isFalse();
    assertThatThrownBy(() -> service.open(chat("c", 5, 1.0), Tenant.ANONYMOUS))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE));
    assertThat(service.awaitIdle(Duration.ofMillis(50))).isFalse();

    service.abortAll(EdgeException.unavailable("shutting down"));

    assertThat(drain(queued)).last().isInstanceOfSatisfying(StreamEvent.Failed.class,
        f -> assertThat(f.error().getMessage()).isEqualTo("shutting down"));
    assertThat(drain(running)).last().isInstanceOf(StreamEvent.Failed.class);
    assertThat(service.awaitIdle(Duration.ofSeconds(5))).isTrue();
    assertThat(registry.get("infermesh.edge.requests.in_flight").gauge().value()).isZero();
  }

  @Test
  void open_beforeTheModelLoads_isUnavailable() {
    CompletionService loading = CompletionService.builder()
        .config(EdgeConfig.defaults())
        .router(new LocalOnlyRouter())
        .cache(ResponseCache.create(0, Duration.ofMinutes(1), ticker))
        .apiKeys(ApiKeys.of(EdgeConfig.Auth.NONE))
        .rateLimiter(RateLimiter.create(ticker::read))
        .admission(admission)
        .metrics(EdgeMetrics.of(registry))
        .build();

    assertThat(loading.ready()).isFalse();
    assertThatThrownBy(() -> loading.open(chat("a", 5, 1.0), Tenant.ANONYMOUS))
        .hasMessageContaining("still loading");
  }

  @Test
  void open_unknownModel_isNotFoundNamingTheModel() {
    CompletionRequest request = new CompletionRequest("", Operation.CHAT, "gpt-4o", List.of(ChatMessage.of(Role.USER, "a")),
        null, SamplingRequest.DEFAULTS, Map.of(), Optional.empty());

    assertThatThrownBy(() -> service.open(request, Tenant.ANONYMOUS))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.kind()).isEqualTo(EdgeException.Kind.NOT_FOUND);
          assertThat(e.param()).contains("model");
          assertThat(e.getMessage()).contains("'gpt-4o'").contains("fake");
        });
  }

  @Test
  void open_promptLongerThanTheContext_namesMessages() {
    assertThatThrownBy(() -> service.open(chat("x".repeat(300), null, null), Tenant.ANONYMOUS))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.param()).contains("messages");
          assertThat(e.code()).contains("context_length_exceeded");
        });
  }

  @Test
  void open_promptPlusMaxTokensBeyondTheContext_namesMaxTokens() {
    assertThatThrownBy(() -> service.open(chat("x".repeat(200), 100, null), Tenant.ANONYMOUS))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.param()).contains("max_tokens");
          assertThat(e.getMessage()).contains("at most 49");
        });
  }

  @Test
  void open_noMaxTokens_usesTheDefaultCappedByTheRoomLeft() throws Exception {
    List<StreamEvent> events = drain(service.open(chat("x".repeat(240), null, 0.5), Tenant.ANONYMOUS));

    assertThat(((StreamEvent.Done) events.get(events.size() - 1)).usage().completionTokens()).isEqualTo(8);
  }

  @Test
  void open_tenantOverItsRequestLimit_isRateLimited() throws Exception {
    Tenant limited = new Tenant("small", 1, 0);
    drain(service.open(chat("a", 1, 1.0), limited));

    assertThatThrownBy(() -> service.open(chat("a", 1, 1.0), limited))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.kind()).isEqualTo(EdgeException.Kind.RATE_LIMITED);
          assertThat(e.code()).contains("requests");
          assertThat(e.retryAfter()).hasValueSatisfying(d -> assertThat(d).isPositive());
        });
  }

  @Test
  void open_tenantInTokenDebt_isRateLimitedOnTokens() throws Exception {
    Tenant limited = new Tenant("small", 0, 10);
    drain(service.open(chat("aaaaaaaaaa", 5, 1.0), limited)); // 17 prompt + 5 completion > 10

    assertThatThrownBy(() -> service.open(chat("a", 1, 1.0), limited))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.code()).contains("tokens"));
  }

  @Test
  void authenticate_withKeys_refusesMissingAndUnknownKeys() {
    EdgeConfig withKeys = EdgeConfig.defaults().withAuth(new EdgeConfig.Auth(List.of(
        EdgeConfig.Tenant.builder("acme").keys("sk-acme-0001").build())));
    CompletionService guarded = service(withKeys, admission);

    assertThat(guarded.authenticate("Bearer sk-acme-0001").name()).isEqualTo("acme");
    assertThatThrownBy(() -> guarded.authenticate(null))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.kind()).isEqualTo(EdgeException.Kind.UNAUTHENTICATED))
        .hasMessageContaining("didn't provide an API key");
    assertThatThrownBy(() -> guarded.authenticate("Bearer sk-wrong-0001"))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.code()).contains("invalid_api_key"));
    assertThat(service.authenticate(null)).isSameAs(Tenant.ANONYMOUS);
  }
}
