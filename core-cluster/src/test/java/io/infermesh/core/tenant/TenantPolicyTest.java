package io.infermesh.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.MutableClock;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.config.Tenants;
import io.infermesh.node.quota.QuotaWindow;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TenantPolicyTest {
  private static final Optional<SpiffeId> EDGE = id("spiffe://mesh.test/eu/edge/shop-1");
  private static final Optional<SpiffeId> GATEWAY = id("spiffe://mesh.test/eu/gateway/gw-1");
  private static final Optional<SpiffeId> OPERATOR = id("spiffe://mesh.test/eu/operator/ops");

  private final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T18:00:00Z"));

  private static Optional<SpiffeId> id(String uri) {
    return Optional.of(SpiffeId.parse(uri));
  }

  private TenantPolicy policy(Tenants.Builder b) {
    return TenantPolicy.of(b.enforce(true).build(), clock);
  }

  private static TenantTab admitted(TenantDecision d) {
    assertThat(d).isInstanceOf(TenantDecision.Admitted.class);
    return ((TenantDecision.Admitted) d).tab();
  }

  private static TenantDecision.Limited limited(TenantDecision d) {
    assertThat(d).isInstanceOf(TenantDecision.Limited.class);
    return (TenantDecision.Limited) d;
  }

  @Test
  void admit_notEnforced_anyCallerNamingATenantAdmittedUnlimited() {
    TenantPolicy policy = TenantPolicy.of(Tenants.builder().defaults(new Tenants.Limits(1, 1, 1, 1)).build(), clock);

    TenantTab tab = admitted(policy.admit(OPERATOR, "acme", 1_000, 1_000));

    assertThat(tab.tenant()).isEqualTo("acme");
    assertThat(tab.quota()).isEmpty();
    assertThat(admitted(policy.admit(Optional.empty(), "acme", 1_000, 1_000)).reserved()).isZero();
  }

  @Test
  void admit_tenantFromRoleThatMayNotVouch_notVouched() {
    TenantPolicy policy = policy(Tenants.builder().vouchRoles(Set.of(Role.EDGE)));

    TenantDecision d = policy.admit(GATEWAY, "acme", 10, 10);

    assertThat(d).isEqualTo(new TenantDecision.NotVouched("spiffe://mesh.test/eu/gateway/gw-1", "acme"));
    assertThat(((TenantDecision.NotVouched) d).message()).startsWith("tenant: ");
    assertThat(policy.admit(Optional.empty(), "acme", 10, 10)).isInstanceOf(TenantDecision.NotVouched.class);
  }

  @Test
  void admit_tenantFromVouchingRoleOrListedId_admitted() {
    TenantPolicy policy = policy(Tenants.builder().vouchRoles(Set.of(Role.EDGE))
        .vouchId(SpiffeId.parse("spiffe://mesh.test/eu/operator/ops")));

    assertThat(admitted(policy.admit(EDGE, "acme", 10, 10)).tenant()).isEqualTo("acme");
    assertThat(admitted(policy.admit(OPERATOR, "acme", 10, 10)).quota()).isEqualTo("ok");
  }

  @Test
  void admit_noTenantFromAnyCaller_billedToDefaultTenant() {
    TenantPolicy policy = policy(Tenants.builder().vouchRoles(Set.of()));

    assertThat(admitted(policy.admit(GATEWAY, "", 10, 10)).tenant()).isEqualTo(TenantPolicy.DEFAULT_TENANT);
  }

  @Test
  void admit_overRequestsPerMinute_limitedUntilTheBucketRefills() {
    TenantPolicy policy = policy(Tenants.builder().tenant("acme", new Tenants.Limits(2, 0, 0, 0)));
    admitted(policy.admit(EDGE, "acme", 1, 1));
    admitted(policy.admit(EDGE, "acme", 1, 1));

    TenantDecision.Limited l = limited(policy.admit(EDGE, "acme", 1, 1));

    assertThat(l.limit()).isEqualTo("requests_per_minute");
    assertThat(l.retryAfter()).isEqualTo(Duration.ofSeconds(30)); // greedy refill: one every 30 s
    clock.advance(Duration.ofSeconds(30));
    admitted(policy.admit(EDGE, "acme", 1, 1));
    admitted(policy.admit(EDGE, "other", 1, 1)); // not listed: the defaults (none)
  }

  @Test
  void admit_tokensPerMinuteInDebt_limitedUntilRepaid() {
    TenantPolicy policy = policy(Tenants.builder().tenant("acme", new Tenants.Limits(0, 600, 0, 0)));
    TenantTab tab = admitted(policy.admit(EDGE, "acme", 10, 10));
    tab.settle(900); // 300 tokens in debt: 30 s at 10 tokens/s

    TenantDecision.Limited l = limited(policy.admit(EDGE, "acme", 10, 10));

    assertThat(l.limit()).isEqualTo("tokens_per_minute");
    assertThat(l.retryAfter()).isBetween(Duration.ofMillis(30_000), Duration.ofMillis(30_101));
    clock.advance(Duration.ofMillis(30_100));
    admitted(policy.admit(EDGE, "acme", 10, 10));
  }

  @Test
  void admit_worstCaseOverDayQuota_limitedUntilMidnight() {
    TenantPolicy policy = policy(Tenants.builder().tenant("acme", new Tenants.Limits(0, 0, 1_000, 0)));
    TenantTab running = admitted(policy.admit(EDGE, "acme", 400, 400));

    TenantDecision.Limited l = limited(policy.admit(EDGE, "acme", 100, 200));

    assertThat(l.limit()).isEqualTo("tokens_per_day");
    assertThat(l.message()).contains("tokens_per_day", "800 reserved");
    assertThat(l.retryAfter()).isEqualTo(Duration.ofHours(6));
    running.settle(500);
    TenantTab next = admitted(policy.admit(EDGE, "acme", 100, 200)); // settled usage frees the rest
    assertThat(next.reserved()).isEqualTo(300);
    assertThat(policy.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(500));
  }

  @Test
  void admit_unlistedTenants_eachGetsTheDefaultQuota() {
    TenantPolicy policy = policy(Tenants.builder().defaults(new Tenants.Limits(0, 0, 100, 0))
        .tenant("big", Tenants.Limits.NONE));
    admitted(policy.admit(EDGE, "a", 50, 50));

    assertThat(limited(policy.admit(EDGE, "a", 1, 0)).limit()).isEqualTo("tokens_per_day");
    admitted(policy.admit(EDGE, "b", 50, 50));
    admitted(policy.admit(EDGE, "big", 10_000, 10_000)); // listed without quotas: none, not the defaults
  }

  @Test
  void settle_twice_countsOnce() {
    TenantPolicy policy = policy(Tenants.builder().tenant("acme", new Tenants.Limits(0, 0, 1_000, 0)));
    TenantTab tab = admitted(policy.admit(EDGE, "acme", 10, 10));

    assertThat(tab.settle(15)).isTrue();
    assertThat(tab.settle(15)).isFalse();
    assertThat(policy.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(15));
  }
}
