package io.infermesh.edge.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.FakeTicker;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
  private final FakeTicker time = new FakeTicker();
  private final RateLimiter limiter = RateLimiter.create(time::read);

  @Test
  void tryAcquireRequest_beyondTheMinute_refusesWithTheWait() {
    Tenant t = new Tenant("a", 2, 0);
    assertThat(limiter.tryAcquireRequest(t)).isEmpty();
    assertThat(limiter.tryAcquireRequest(t)).isEmpty();

    assertThat(limiter.tryAcquireRequest(t)).hasValueSatisfying(wait ->
        assertThat(wait).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(30)));

    time.advance(Duration.ofSeconds(30));
    assertThat(limiter.tryAcquireRequest(t)).isEmpty();
  }

  @Test
  void tryAcquireRequest_tenantsAreIndependent() {
    Tenant a = new Tenant("a", 1, 0);
    Tenant b = new Tenant("b", 1, 0);
    limiter.tryAcquireRequest(a);

    assertThat(limiter.tryAcquireRequest(a)).isPresent();
    assertThat(limiter.tryAcquireRequest(b)).isEmpty();
  }

  @Test
  void checkTokens_inDebt_refusesUntilRepaid() {
    Tenant t = new Tenant("a", 0, 600); // 10 tokens a second
    assertThat(limiter.checkTokens(t)).isEmpty();

    limiter.recordTokens(t, 1200); // 600 tokens of debt: a minute to repay

    assertThat(limiter.checkTokens(t)).hasValueSatisfying(wait ->
        assertThat(wait).isBetween(Duration.ofSeconds(59), Duration.ofSeconds(61)));
    time.advance(Duration.ofSeconds(61));
    assertThat(limiter.checkTokens(t)).isEmpty();
  }

  @Test
  void unlimitedTenant_isNeverRefused() {
    for (int i = 0; i < 1000; i++) {
      assertThat(limiter.tryAcquireRequest(Tenant.ANONYMOUS)).isEmpty();
    }
    limiter.recordTokens(Tenant.ANONYMOUS, 1_000_000);
    assertThat(limiter.checkTokens(Tenant.ANONYMOUS)).isEmpty();
  }
}
