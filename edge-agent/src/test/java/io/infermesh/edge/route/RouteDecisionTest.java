package io.infermesh.edge.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A decision's reason is lower-case words joined by single dashes, checked without a regex. */
class RouteDecisionTest {
  @ParameterizedTest
  @ValueSource(strings = {"cache-hit", "local", "no-core-configured", "p99-over-budget", "a", "0-1"})
  void reason_wellFormed_isAccepted(String reason) {
    assertThat(new RouteDecision(Route.EDGE, reason).reason()).isEqualTo(reason);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-", "-local", "local-", "no--core", "Local", "no_core", "no core", "cache-hit\n", "é"})
  void reason_malformed_isRefusedNamingIt(String reason) {
    assertThatThrownBy(() -> new RouteDecision(Route.EDGE, reason))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lower-case words joined by dashes, got '" + reason + "'");
  }

  @Test
  void cacheHit_isOneSharedDecision() {
    assertThat(RouteDecision.cacheHit()).isSameAs(RouteDecision.cacheHit());
    assertThat(RouteDecision.cacheHit()).isEqualTo(new RouteDecision(Route.CACHE, "cache-hit"));
  }
}
