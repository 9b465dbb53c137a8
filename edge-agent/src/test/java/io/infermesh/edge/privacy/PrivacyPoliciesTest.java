package io.infermesh.edge.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PrivacyPoliciesTest {
  private final PrivacyPolicy strict = PrivacyPolicy.builder("strict").builtIns(PrivacyAction.BLOCK).build();
  private final PrivacyPolicy mask = PrivacyPolicy.builder("mask").builtIns(PrivacyAction.MASK).build();

  @Test
  void forTenant_listedAndDefault_theirPolicies() {
    PrivacyPolicies policies = PrivacyPolicies.builder().policy(strict).policy(mask).tenant("bank", "strict")
        .defaultPolicy("mask").build();

    assertThat(policies.forTenant("bank").policy()).isSameAs(strict);
    assertThat(policies.forTenant("shop").policy()).isSameAs(mask);
    assertThat(policies.forTenant("bank")).isSameAs(policies.forTenant("bank"));
    assertThat(policies.named("mask")).hasValueSatisfying(m -> assertThat(m.policy()).isSameAs(mask));
    assertThat(policies.named("lax")).isEmpty();
  }

  @Test
  void forTenant_noDefault_masksNothing() {
    PrivacyPolicies policies = PrivacyPolicies.builder().policy(strict).tenant("bank", "strict").build();

    Masked m = policies.forTenant("shop").mask(List.of("mail bob@example.com"));

    assertThat(m.texts()).containsExactly("mail bob@example.com");
    assertThat(m.counts()).isEmpty();
  }

  @Test
  void build_undefinedPolicyOrTwice_refused() {
    assertThatThrownBy(() -> PrivacyPolicies.builder().policy(strict).tenant("bank", "lax").build())
        .hasMessageContaining("tenant bank has privacy policy lax, which is not defined");
    assertThatThrownBy(() -> PrivacyPolicies.builder().policy(strict).defaultPolicy("lax").build())
        .hasMessageContaining("default privacy policy lax");
    assertThatThrownBy(() -> PrivacyPolicies.builder().policy(strict).policy(strict))
        .hasMessageContaining("defined twice");
  }
}
