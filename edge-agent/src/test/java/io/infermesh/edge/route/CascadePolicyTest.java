package io.infermesh.edge.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link CascadePolicy}: agreement of samples and the judgement, without sockets or models. */
class CascadePolicyTest {
  @Test
  void agreement_sameWordsAnyCaseAndPunctuation_isOne() {
    assertThat(CascadePolicy.agreement(List.of("Paris is the capital.", "the capital: paris IS", "Paris is the capital")))
        .isEqualTo(1.0);
  }

  @Test
  void agreement_noWordInCommon_isZero() {
    assertThat(CascadePolicy.agreement(List.of("red apple", "blue sky", "green tea"))).isZero();
  }

  @Test
  void agreement_halfTheWordsShared_isTheMeanPairwiseOverlap() {
    // {a, b} vs {a, c}: 1/3; {a, b} vs {a, b}: 1; {a, c} vs {a, b}: 1/3 -> (1/3 + 1 + 1/3) / 3
    assertThat(CascadePolicy.agreement(List.of("a b", "a c", "a b"))).isCloseTo(5.0 / 9, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void agreement_oneSample_isOne() {
    assertThat(CascadePolicy.agreement(List.of("anything"))).isEqualTo(1.0);
  }

  @Test
  void judge_belowTheMinimum_escalatesAsCascadeRejected() {
    CascadePolicy policy = CascadePolicy.of(0.6);
    assertThat(policy.judge(List.of("a b", "a c", "a b"))).isEqualTo(new RouteDecision(Route.CORE, "cascade-rejected"));
    assertThat(policy.judge(List.of("a b", "b a", "a b"))).isEqualTo(new RouteDecision(Route.EDGE, "cascade-accepted"));
  }

  @Test
  void applies_onlyToTheEdgeChosenForLowDifficulty() {
    assertThat(CascadePolicy.applies(new RouteDecision(Route.EDGE, "difficulty-low"))).isTrue();
    assertThat(CascadePolicy.applies(new RouteDecision(Route.EDGE, "privacy-local-only"))).isFalse();
    assertThat(CascadePolicy.applies(new RouteDecision(Route.EDGE, "alias-edge"))).isFalse();
    assertThat(CascadePolicy.applies(new RouteDecision(Route.CORE, "difficulty-high"))).isFalse();
  }

  @Test
  void of_outOfRange_throws() {
    assertThatThrownBy(() -> CascadePolicy.of(1.5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("minAgreement");
  }
}
