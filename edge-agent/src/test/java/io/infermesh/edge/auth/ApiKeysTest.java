package io.infermesh.edge.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.config.EdgeConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApiKeysTest {
  private final ApiKeys keys = ApiKeys.of(new EdgeConfig.Auth(List.of(
      EdgeConfig.Tenant.builder("acme").keys("sk-acme-0001", "sk-acme-0002").requestsPerMinute(60).build(),
      EdgeConfig.Tenant.builder("globex").keys("sk-globex-01").tokensPerMinute(100).build())));

  @Test
  void tenantOf_eachKey_findsItsTenant() {
    assertThat(keys.enabled()).isTrue();
    assertThat(keys.tenantOf("sk-acme-0002")).contains(new Tenant("acme", 60, 0).calledBy("api-key:acme#1"));
    assertThat(keys.tenantOf("sk-globex-01")).contains(new Tenant("globex", 0, 100).calledBy("api-key:globex#0"));
    assertThat(keys.tenantOf("sk-acme-0003")).isEmpty();
  }

  @Test
  void bearerToken_parsesTheSchemeInAnyCase() {
    assertThat(ApiKeys.bearerToken("Bearer sk-1")).contains("sk-1");
    assertThat(ApiKeys.bearerToken("bearer   sk-1 ")).contains("sk-1");
    assertThat(ApiKeys.bearerToken("Basic dXNlcjpwYXNz")).isEmpty();
    assertThat(ApiKeys.bearerToken("Bearer ")).isEmpty();
    assertThat(ApiKeys.bearerToken(null)).isEmpty();
  }

  @Test
  void of_noTenants_isDisabled() {
    assertThat(ApiKeys.of(EdgeConfig.Auth.NONE).enabled()).isFalse();
  }
}
