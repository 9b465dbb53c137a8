package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RoleAuthorizationPolicyTest {
  private static final String GENERATE = "infermesh.v1.Inference/Generate";
  private static final String LIST = "infermesh.v1.Inference/ListModels";

  @Test
  void permits_serviceEntry_coversEveryMethod() {
    RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder()
        .allow("infermesh.v1.Inference", Role.EDGE, Role.GATEWAY)
        .build();

    assertThat(policy.permits(Role.EDGE, GENERATE)).isTrue();
    assertThat(policy.permits(Role.GATEWAY, LIST)).isTrue();
    assertThat(policy.permits(Role.CORE, GENERATE)).isFalse();
  }

  @Test
  void permits_methodEntry_replacesServiceEntryForThatMethod() {
    RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder()
        .allow("infermesh.v1.Inference", Role.EDGE, Role.GATEWAY)
        .allowMethod(GENERATE, Role.GATEWAY)
        .build();

    assertThat(policy.allowedRoles(GENERATE)).containsExactly(Role.GATEWAY);
    assertThat(policy.allowedRoles(LIST)).containsExactlyInAnyOrder(Role.EDGE, Role.GATEWAY);
  }

  @Test
  void permits_unlistedMethod_deniesEveryRole() {
    RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder()
        .allow("infermesh.v1.Inference", Role.EDGE)
        .build();

    assertThat(policy.allowedRoles("infermesh.v1.Shard/Forward")).isEmpty();
    for (Role role : Role.values()) {
      assertThat(policy.permits(role, "infermesh.v1.Shard/Forward")).isFalse();
    }
  }

  @Test
  void permits_malformedMethodName_deniesEveryRole() {
    RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder().allow("svc", Role.EDGE).build();

    assertThat(policy.allowedRoles("svc")).isEmpty();
    assertThat(policy.allowedRoles("/svc")).isEmpty();
  }

  @Test
  void permits_healthAndReflection_areOpenToEveryRole() {
    RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder().build();

    for (Role role : Role.values()) {
      assertThat(policy.permits(role, "grpc.health.v1.Health/Check")).isTrue();
      assertThat(policy.permits(role, "grpc.health.v1.Health/Watch")).isTrue();
      assertThat(policy.permits(role, "grpc.reflection.v1.ServerReflection/ServerReflectionInfo")).isTrue();
    }
  }

  @Test
  void allow_sameServiceTwice_addsRoles() {
    RoleAuthorizationPolicy policy = RoleAuthorizationPolicy.builder()
        .allow("infermesh.v1.Shard", Role.CORE)
        .allow("infermesh.v1.Shard", Role.OPERATOR)
        .build();

    assertThat(policy.allowedRoles("infermesh.v1.Shard/Forward")).containsExactlyInAnyOrder(Role.CORE, Role.OPERATOR);
  }

  @Test
  void allow_methodNameGivenAsService_explainsAllowMethod() {
    assertThatThrownBy(() -> RoleAuthorizationPolicy.builder().allow(GENERATE, Role.EDGE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("use allowMethod");
  }

  @Test
  void allowMethod_serviceNameOnly_isRejected() {
    assertThatThrownBy(() -> RoleAuthorizationPolicy.builder().allowMethod("infermesh.v1.Inference", Role.EDGE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be a full method name");
  }

  @Test
  void allow_nullRole_isRejected() {
    assertThatThrownBy(() -> RoleAuthorizationPolicy.builder().allow("svc", Role.EDGE, (Role) null))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void build_afterMoreAllows_keepsEarlierPolicyUnchanged() {
    RoleAuthorizationPolicy.Builder builder = RoleAuthorizationPolicy.builder().allow("svc", Role.EDGE);
    RoleAuthorizationPolicy first = builder.build();

    builder.allow("svc", Role.CORE);

    assertThat(first.allowedRoles("svc/M")).containsExactly(Role.EDGE);
    assertThat(builder.build().allowedRoles("svc/M")).containsExactlyInAnyOrder(Role.EDGE, Role.CORE);
  }
}
