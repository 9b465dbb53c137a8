package io.infermesh.edge.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every rule of {@link MeshRouter}, table-driven, without sockets. */
class MeshRouterTest {
  private static final int CONTEXT = 512;

  /** One row: the request's facts, the core's state and queue wait, and the expected decision. */
  record Row(String name, String tenant, String model, Map<String, String> hints, int promptTokens, int maxTokens,
      String text, CoreState core, Duration queueWait, Optional<Duration> budget, Route route, String reason) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static Row row(String name, String model, Map<String, String> hints, int prompt, int max, String text,
      CoreState core, Route route, String reason) {
    return new Row(name, "default", model, hints, prompt, max, text, core, Duration.ZERO, Optional.empty(), route,
        reason);
  }

  static Stream<Arguments> rows() {
    CoreState up = CoreState.AVAILABLE;
    String easy = "hi there";
    String hard = "Explain step by step why this code is wrong: ```def f(x): return x/0```";
    return Stream.of(
        row("privacy hint beats alias core", "core", Map.of("privacy", "local-only"), 10, 16, hard, up,
            Route.EDGE, "privacy-local-only"),
        row("privacy hint beats require core", "auto", Map.of("privacy", "local-only", "require", "core"), 10, 16,
            hard, up, Route.EDGE, "privacy-local-only"),
        new Row("local-only tenant", "secret-tenant", "core", Map.of(), 10, 16, hard, up, Duration.ZERO,
            Optional.empty(), Route.EDGE, "tenant-local-only"),
        row("alias edge", "edge", Map.of(), 10, 16, hard, up, Route.EDGE, "alias-edge"),
        row("alias core", "core", Map.of(), 10, 16, easy, up, Route.CORE, "alias-core"),
        row("core-only model", "big-core-model", Map.of(), 10, 16, easy, up, Route.CORE, "model-core-only"),
        row("require core", "auto", Map.of("require", "core"), 10, 16, easy, up, Route.CORE, "require-core"),
        row("beyond edge context", "auto", Map.of(), 500, 100, easy, up, Route.CORE, "exceeds-edge-context"),
        row("easy prompt", "auto", Map.of(), 10, 16, easy, up, Route.EDGE, "difficulty-low"),
        row("hard prompt", "auto", Map.of(), 10, 16, hard, up, Route.CORE, "difficulty-high"),
        row("hard prompt, core unreachable", "auto", Map.of(), 10, 16, hard, CoreState.UNREACHABLE,
            Route.EDGE_DEGRADED, "core-unreachable"),
        row("hard prompt, circuit open", "auto", Map.of(), 10, 16, hard, CoreState.CIRCUIT_OPEN,
            Route.EDGE_DEGRADED, "circuit-open"),
        row("alias core, circuit open", "core", Map.of(), 10, 16, easy, CoreState.CIRCUIT_OPEN,
            Route.EDGE_DEGRADED, "circuit-open"),
        row("require core, core unreachable", "auto", Map.of("require", "core"), 10, 16, easy,
            CoreState.UNREACHABLE, Route.REFUSED, "core-required-unavailable"),
        row("beyond edge context, core down", "auto", Map.of(), 500, 100, easy, CoreState.UNREACHABLE,
            Route.REFUSED, "exceeds-edge-context-core-unavailable"),
        row("easy prompt, core down", "auto", Map.of(), 10, 16, easy, CoreState.UNREACHABLE, Route.EDGE,
            "difficulty-low"),
        new Row("edge saturated", "default", "auto", Map.of(), 10, 16, easy, up, Duration.ofSeconds(3),
            Optional.of(Duration.ofSeconds(1)), Route.CORE, "edge-saturated"),
        new Row("queue within budget", "default", "auto", Map.of(), 10, 16, easy, up, Duration.ofSeconds(3),
            Optional.of(Duration.ofSeconds(10)), Route.EDGE, "difficulty-low"),
        new Row("edge saturated, core down", "default", "auto", Map.of(), 10, 16, easy, CoreState.UNREACHABLE,
            Duration.ofSeconds(3), Optional.of(Duration.ofSeconds(1)), Route.EDGE, "difficulty-low"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void decide_eachRule_routesAsSpecified(Row row) {
    MeshRouter router = MeshRouter.builder()
        .coreModels(Set.of("big-core-model"))
        .localOnlyTenants(Set.of("secret-tenant"))
        .core(() -> row.core())
        .load(() -> row.queueWait())
        .build();
    RouteDecision d = router.decide(new RouteRequest(row.tenant(), row.model(), row.hints(), row.promptTokens(),
        row.maxTokens(), CONTEXT, row.text(), 1, row.budget()));
    assertThat(d).isEqualTo(new RouteDecision(row.route(), row.reason()));
  }

  @Test
  void decide_coreRecovers_followsTheCoreState() {
    AtomicReference<CoreState> state = new AtomicReference<>(CoreState.CIRCUIT_OPEN);
    MeshRouter router = MeshRouter.builder().core(state::get).build();
    RouteRequest r = new RouteRequest("default", "core", Map.of(), 10, 16, CONTEXT);
    assertThat(router.decide(r).route()).isEqualTo(Route.EDGE_DEGRADED);
    state.set(CoreState.AVAILABLE);
    assertThat(router.decide(r).route()).isEqualTo(Route.CORE);
  }

  @Test
  void decide_customScorerAndThreshold_escalatesAtOrAboveIt() {
    MeshRouter router = MeshRouter.builder()
        .core(() -> CoreState.AVAILABLE)
        .scorer(r -> r.text().length() / 100.0)
        .threshold(Threshold.fixed(0.3))
        .build();
    assertThat(router.decide(text("x".repeat(29))).route()).isEqualTo(Route.EDGE);
    assertThat(router.decide(text("x".repeat(30))).route()).isEqualTo(Route.CORE);
  }

  @Test
  void decide_logprobs_goesToTheCoreWithItsOwnReason() {
    MeshRouter router = MeshRouter.builder().core(() -> CoreState.AVAILABLE).build();

    assertThat(router.decide(logprobs("auto", Map.of()))).isEqualTo(new RouteDecision(Route.CORE,
        "logprobs-core-only"));
    assertThat(router.decide(logprobs("core", Map.of()))).isEqualTo(new RouteDecision(Route.CORE,
        "logprobs-core-only"));
  }

  @Test
  void decide_logprobsPinnedToTheEdge_staysThereForTheCallerToRefuse() {
    MeshRouter router = MeshRouter.builder().core(() -> CoreState.AVAILABLE).build();

    assertThat(router.decide(logprobs("edge", Map.of()))).isEqualTo(new RouteDecision(Route.EDGE, "alias-edge"));
    assertThat(router.decide(logprobs("auto", Map.of("privacy", "local-only"))))
        .isEqualTo(new RouteDecision(Route.EDGE, "privacy-local-only"));
  }

  @Test
  void decide_logprobsCoreDown_refusedNotDegraded() {
    MeshRouter router = MeshRouter.builder().core(() -> CoreState.CIRCUIT_OPEN).build();

    assertThat(router.decide(logprobs("auto", Map.of()))).isEqualTo(new RouteDecision(Route.REFUSED,
        "logprobs-core-unavailable"));
  }

  @Test
  void decide_aModelTheCoreLists_escalatesAsCoreOnly() {
    AtomicReference<Set<String>> listed = new AtomicReference<>(Set.of());
    MeshRouter router = MeshRouter.builder().core(() -> CoreState.AVAILABLE).listedCoreModels(listed::get).build();
    RouteRequest r = new RouteRequest("default", "tiny-core", Map.of(), 10, 16, CONTEXT, "hi", 1, Optional.empty());

    assertThat(router.decide(r).reason()).isEqualTo("difficulty-low");
    listed.set(Set.of("tiny-core"));
    assertThat(router.decide(r)).isEqualTo(new RouteDecision(Route.CORE, "model-core-only"));
  }

  private static RouteRequest logprobs(String model, Map<String, String> hints) {
    return new RouteRequest("default", model, hints, 10, 16, CONTEXT, "hi", 1, Optional.empty(),
        Optional.of("logprobs"));
  }

  private static RouteRequest text(String t) {
    return new RouteRequest("default", "auto", Map.of(), 10, 16, CONTEXT, t, 1, Optional.empty());
  }
}
