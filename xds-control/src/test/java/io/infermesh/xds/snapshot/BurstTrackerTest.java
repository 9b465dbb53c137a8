package io.infermesh.xds.snapshot;

import static io.infermesh.xds.snapshot.MeshFixtures.EU;
import static io.infermesh.xds.snapshot.MeshFixtures.SERVICE;
import static io.infermesh.xds.snapshot.MeshFixtures.US;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BurstTrackerTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private static MeshState withUtilization(String region, double utilization) {
    return MeshState.of(MeshFixtures.endpoints().stream()
        .map(e -> e.region().equals(region) ? e.withUtilization(utilization) : e)
        .toList());
  }

  @Test
  void update_hotRegion_burstsOnlyThatRegion() {
    MeshPolicy policy = MeshFixtures.policy().withBurst(BurstPolicy.defaults().withMinHold(Duration.ZERO));
    BurstTracker tracker = new BurstTracker();
    BurstShares shares = tracker.update(withUtilization(EU, 0.95), policy, T0);
    assertThat(shares.share(SERVICE, EU)).isEqualTo(0.16);
    assertThat(shares.share(SERVICE, US)).isZero();
    assertThat(tracker.state(SERVICE, EU).bursting()).isTrue();
  }

  @Test
  void update_keepsStateBetweenCalls() {
    MeshPolicy policy = MeshFixtures.policy().withBurst(BurstPolicy.defaults().withMinHold(Duration.ZERO));
    BurstTracker tracker = new BurstTracker();
    tracker.update(withUtilization(EU, 0.95), policy, T0);
    // private now measures 0.7: demand 0.7 / 0.84 = 0.83 > high -> share recomputed, not dropped
    BurstShares shares = tracker.update(withUtilization(EU, 0.70), policy, T0.plusSeconds(1));
    assertThat(shares.share(SERVICE, EU)).isEqualTo(0.04);
  }

  @Test
  void update_regionLosesAllPrivateEndpoints_endsItsBurst() {
    MeshPolicy policy = MeshFixtures.policy().withBurst(BurstPolicy.defaults().withMinHold(Duration.ZERO));
    BurstTracker tracker = new BurstTracker();
    tracker.update(withUtilization(EU, 0.95), policy, T0);
    MeshState euGone = MeshState.of(MeshFixtures.endpoints().stream()
        .filter(e -> !e.region().equals(EU)).toList());
    assertThat(tracker.update(euGone, policy, T0.plusSeconds(1)).share(SERVICE, EU)).isZero();
  }

  @Test
  void update_serviceNotInPolicy_isIgnored() {
    MeshPolicy policy = MeshFixtures.policy();
    MeshEndpoint other = MeshEndpoint.builder("other", "10.9.9.9", 1, EU).utilization(2.0).build();
    BurstShares shares = new BurstTracker().update(MeshState.of(List.of(other)), policy, T0);
    assertThat(shares.shares()).isEmpty();
  }
}
