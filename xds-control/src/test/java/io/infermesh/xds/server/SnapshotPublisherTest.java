package io.infermesh.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.infermesh.certs.FakeClock;
import io.infermesh.xds.snapshot.DataPlane;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshNodeGroup;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.MeshState;
import io.infermesh.xds.snapshot.SecretMaterial;
import io.infermesh.xds.snapshot.XdsGroup;
import io.infermesh.xds.testing.TestMeshes;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SnapshotPublisherTest {

  private static final XdsGroup EU_GRPC = new XdsGroup(DataPlane.GRPC, TestMeshes.EU);
  private static final Duration TICK = Duration.ofMillis(20);
  private static final String GW = "spiffe://mesh.local/" + TestMeshes.EU + "/gateway/gw-1";

  private final MeshPolicy policy = TestMeshes.policy();
  private final SimpleCache<XdsGroup> cache = new SimpleCache<>(MeshNodeGroup.of(policy));
  private final FakeClock time = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AtomicReference<Supplier<SecretMaterial>> secrets = new AtomicReference<>(SecretMaterial::none);
  private SnapshotPublisher publisher = publisher(policy);

  private SnapshotPublisher publisher(MeshPolicy p) {
    return new SnapshotPublisher(cache, p.withMtls(true), () -> secrets.get().get(), time.clock(), time.scheduler(),
        TICK, meters);
  }

  @AfterEach
  void stop() {
    publisher.close();
  }

  private static MeshState mesh(double utilization) {
    return MeshState.of(List.of(
        MeshEndpoint.builder("core-inference", "10.0.0.1", 9443, TestMeshes.EU).utilization(utilization).build(),
        MeshEndpoint.builder("core-inference", "10.0.9.1", 9443, TestMeshes.PUBLIC)
            .tier(io.infermesh.xds.snapshot.Tier.PUBLIC).build()));
  }

  @Test
  void publish_nothingDiscoveredYet_publishesNothing() {
    publisher.start();

    time.forward(TICK.multipliedBy(5));

    assertThat(time.tasksRun()).as("the publisher ticked").isEqualTo(5);
    assertThat(cache.getSnapshot(EU_GRPC)).isNull();
    assertThat(publisher.current()).isNull();
  }

  @Test
  void update_publishesEveryGroup_andAnUnchangedStateSetsNothingNew() throws Exception {
    publisher.start();
    publisher.update(mesh(0.1));
    time.runDueTasks();
    assertThat(publisher.awaitFirstPublish(Duration.ZERO)).isTrue();
    assertThat(publisher.current().snapshots()).hasSize(8);
    publisher.current().snapshots().keySet().forEach(g -> assertThat(cache.getSnapshot(g)).isNotNull());
    Snapshot first = cache.getSnapshot(EU_GRPC);
    long ranBefore = time.tasksRun();

    publisher.update(mesh(0.1));
    time.forward(TICK.multipliedBy(5));

    assertThat(time.tasksRun() - ranBefore).as("the update and five ticks ran").isEqualTo(6);
    assertThat(cache.getSnapshot(EU_GRPC)).isSameAs(first);
  }

  @Test
  void tick_burstStartsWithoutAnyDiscoveryChange() {
    // a long hold: the static 95 % report would otherwise push the share up on every tick
    publisher = publisher(policy.withBurst(io.infermesh.xds.snapshot.BurstPolicy.defaults().withMinHold(Duration.ofHours(1))));
    publisher.start();
    publisher.update(mesh(0.95));
    for (int i = 0; i < 1_000 && publisher.shares().share("core-inference", TestMeshes.EU) != 0.16; i++) {
      time.forward(TICK);
    }
    assertThat(publisher.shares().share("core-inference", TestMeshes.EU)).isEqualTo(0.16);
    assertThat(meters.get("infermesh.xds.burst.share").tags("service", "core-inference", "region", TestMeshes.EU)
        .gauge().value()).isEqualTo(0.16);
  }

  @Test
  void buildFailure_isCountedAndTheLastSnapshotsStay_thenTheNextTickRecovers() throws Exception {
    publisher.start();
    publisher.update(mesh(0.1));
    time.runDueTasks();
    Snapshot good = cache.getSnapshot(EU_GRPC);
    assertThat(good).isNotNull();

    secrets.set(() -> {
      throw new IllegalStateException("CA unreadable");
    });
    publisher.update(mesh(0.2));
    time.forward(TICK); // the update, then one tick: both fail
    assertThat(meters.counter("infermesh.xds.snapshot.failures").count()).isEqualTo(2);
    assertThat(cache.getSnapshot(EU_GRPC)).isSameAs(good);

    secrets.set(() -> new SecretMaterial("CA", Map.of(GW, new SecretMaterial.Identity("chain", "key"))));
    XdsGroup envoy = new XdsGroup(DataPlane.ENVOY, TestMeshes.EU, GW);
    time.forward(TICK);
    assertThat(cache.getSnapshot(envoy).secrets().resources()).containsKey("infermesh-identity");
  }

  @Test
  void secretsRotate_onlyTheSecretVersionChanges() throws Exception {
    secrets.set(() -> new SecretMaterial("CA", Map.of(GW, new SecretMaterial.Identity("chain-1", "key-1"))));
    publisher.start();
    publisher.update(mesh(0.1));
    time.runDueTasks();
    XdsGroup envoy = new XdsGroup(DataPlane.ENVOY, TestMeshes.EU, GW);
    Snapshot before = cache.getSnapshot(envoy);
    secrets.set(() -> new SecretMaterial("CA", Map.of(GW, new SecretMaterial.Identity("chain-2", "key-2"))));
    publisher.requestPublish();
    time.runDueTasks();
    Snapshot after = cache.getSnapshot(envoy);
    assertThat(after).isNotSameAs(before);
    assertThat(after.secrets().version()).isNotEqualTo(before.secrets().version());
    assertThat(after.clusters().version()).isEqualTo(before.clusters().version());
    assertThat(after.endpoints().version()).isEqualTo(before.endpoints().version());
  }
}
