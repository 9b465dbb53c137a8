package io.infermesh.edge.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalOnlyRouterTest {
  private final Router router = new LocalOnlyRouter();

  private static RouteRequest request(String model, Map<String, String> hints) {
    return new RouteRequest("default", model, hints, 10, 16, 512);
  }

  @Test
  void decide_anyRequest_answersAtTheEdge() {
    assertThat(router.decide(request("auto", Map.of())))
        .isEqualTo(new RouteDecision(Route.EDGE, "no-core-configured"));
    assertThat(router.decide(request("core", Map.of())))
        .isEqualTo(new RouteDecision(Route.EDGE, "no-core-configured"));
  }

  @Test
  void decide_requireCore_isRefusedNotAnsweredLocally() {
    assertThat(router.decide(request("auto", Map.of("require", "core"))))
        .isEqualTo(new RouteDecision(Route.REFUSED, "core-required-not-configured"));
  }

  @Test
  void decide_edgeAlias_saysAliasEdge() {
    assertThat(router.decide(request("edge", Map.of())).reason()).isEqualTo("alias-edge");
  }

  @Test
  void decide_privacyHint_saysPrivacyLocalOnly() {
    assertThat(router.decide(request("core", Map.of("privacy", "local-only"))).reason())
        .isEqualTo("privacy-local-only");
  }

  @Test
  void routeDecision_reasonWithSpaces_isRefused() {
    assertThatThrownBy(() -> new RouteDecision(Route.EDGE, "Not Valid"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void wireName_matchesTheHeaderWords() {
    assertThat(Route.EDGE_DEGRADED.wireName()).isEqualTo("edge-degraded");
    assertThat(Route.CACHE.wireName()).isEqualTo("cache");
  }
}
