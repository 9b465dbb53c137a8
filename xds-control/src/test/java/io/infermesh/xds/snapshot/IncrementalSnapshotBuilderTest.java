package io.infermesh.xds.snapshot;

import static io.infermesh.xds.snapshot.MeshFixtures.BURST;
import static io.infermesh.xds.snapshot.MeshFixtures.EU;
import static io.infermesh.xds.snapshot.MeshFixtures.US;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

class IncrementalSnapshotBuilderTest {

  private static final String[] REGIONS = {EU, US, BURST};
  private static final String GATEWAY = "spiffe://mesh.local/" + EU + "/gateway/gw-1";
  private static final SecretMaterial SECRETS = new SecretMaterial("-----BEGIN CERTIFICATE-----\nCA\n",
      Map.of(GATEWAY, new SecretMaterial.Identity("CHAIN", "KEY")));

  private static MeshEndpoint endpoint(Random random, String service, int n) {
    String region = REGIONS[random.nextInt(REGIONS.length)];
    return MeshEndpoint.builder(service, "10.1." + (n / 250) + "." + (n % 250), 9443, region)
        .id(service + "-" + n)
        .zone(random.nextBoolean() ? "a" : "b")
        .tier(region.equals(BURST) ? Tier.PUBLIC : Tier.PRIVATE)
        .version(random.nextBoolean() ? "v1" : "v2")
        .build();
  }

  private static MeshPolicy policy(int services) {
    MeshPolicy policy = MeshFixtures.policy();
    for (int s = 0; s < services; s++) {
      ServicePolicy service = ServicePolicy.grpc("svc-" + s);
      if (s % 3 == 1) {
        service = service.withProtocol(Protocol.HTTP).withPathPrefix("/svc-" + s + "/");
      }
      policy = policy.withService(service);
    }
    return policy;
  }

  @Test
  void incrementalBuildEqualsFullBuildAfterRandomChanges() {
    Random random = new Random(19);
    int services = 8;
    MeshPolicy policy = policy(services);
    List<MeshEndpoint> endpoints = new ArrayList<>();
    int next = 0;
    for (int i = 0; i < 40; i++) {
      endpoints.add(endpoint(random, "svc-" + random.nextInt(services), next++));
    }
    BurstShares shares = BurstShares.none();
    IncrementalSnapshotBuilder incremental = new IncrementalSnapshotBuilder();
    for (int step = 0; step < 120; step++) {
      int i = random.nextInt(endpoints.size());
      MeshEndpoint e = endpoints.get(i);
      String service = "svc-" + random.nextInt(services);
      switch (random.nextInt(8)) {
        case 0 -> endpoints.set(i, e.withHealth(EndpointHealth.values()[random.nextInt(3)]));
        case 1 -> endpoints.add(endpoint(random, service, next++));
        case 2 -> endpoints.remove(i);
        case 3 -> endpoints.set(i, e.withUtilization(random.nextDouble()));
        case 4 -> shares = random.nextBoolean() ? BurstShares.none()
            : BurstShares.of(service, random.nextBoolean() ? EU : US, 0.1 * (1 + random.nextInt(5)));
        case 5 -> policy = policy.withService(policy.service(service).orElseThrow().withVersions(
            random.nextBoolean() ? List.of() : List.of(new VersionWeight("v1", 80), new VersionWeight("v2", 20))));
        case 6 -> policy = policy.withMtls(!policy.mtls());
        default -> { } // nothing changed
      }
      MeshState state = MeshState.of(endpoints);
      assertSame(incremental.build(state, policy, shares, SECRETS),
          MeshSnapshotBuilder.build(state, policy, shares, SECRETS), "step " + step);
    }
  }

  @Test
  void build_servicesOnAPool_equalsAOneThreadBuild() {
    Random random = new Random(23);
    int services = 2 * IncrementalSnapshotBuilder.PARALLEL_MIN_SERVICES;
    MeshPolicy policy = policy(services);
    List<MeshEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 4 * services; i++) {
      endpoints.add(endpoint(random, "svc-" + random.nextInt(services), i));
    }
    MeshState state = MeshState.of(endpoints);
    BurstShares shares = BurstShares.of("svc-1", EU, 0.3);
    ForkJoinPool pool = new ForkJoinPool(3);
    try {
      IncrementalSnapshotBuilder pooled = new IncrementalSnapshotBuilder(pool);
      assertSame(pooled.build(state, policy, shares, SECRETS), MeshSnapshotBuilder.build(state, policy, shares, SECRETS),
          "a first build");
      MeshPolicy plaintext = policy.withMtls(false); // mesh-wide: every service is built again, on the pool
      assertSame(pooled.build(state, plaintext, shares, SECRETS),
          MeshSnapshotBuilder.build(state, plaintext, shares, SECRETS), "after a mesh-wide change");
      assertThat(pooled.servicesBuilt()).isEqualTo(2L * (services + 1)); // + the fixture's own service
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void aChangeToOneServiceRebuildsOnlyThatService() {
    MeshPolicy policy = policy(6);
    List<MeshEndpoint> endpoints = new ArrayList<>();
    Random random = new Random(7);
    for (int i = 0; i < 30; i++) {
      endpoints.add(endpoint(random, "svc-" + (i % 6), i));
    }
    IncrementalSnapshotBuilder builder = new IncrementalSnapshotBuilder();
    MeshSnapshots first = builder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS);
    int all = policy.services().size();
    assertThat(builder.servicesBuilt()).isEqualTo(all);

    MeshSnapshots same = builder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS);
    assertThat(builder.servicesBuilt()).as("nothing changed: nothing rebuilt").isEqualTo(all);
    assertThat(versions(same)).isEqualTo(versions(first));

    MeshEndpoint changed = endpoints.get(3); // svc-3
    endpoints.set(3, changed.withHealth(EndpointHealth.UNHEALTHY));
    MeshSnapshots after = builder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS);
    assertThat(builder.servicesBuilt()).as("one service changed: one rebuilt").isEqualTo(all + 1);
    assertSame(after, MeshSnapshotBuilder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS),
        "after one change");

    Snapshot before = first.get(DataPlane.GRPC, EU);
    Snapshot now = after.get(DataPlane.GRPC, EU);
    Map<String, VersionedResource<?>> oldEndpoints = before.versionedResources(Resources.ResourceType.ENDPOINT);
    now.versionedResources(Resources.ResourceType.ENDPOINT).forEach((name, resource) -> {
      if (name.startsWith("svc-3")) {
        return;
      }
      assertThat(resource.version()).as(name + " kept its version").isEqualTo(oldEndpoints.get(name).version());
      assertThat(resource.resource()).as(name + " was not rebuilt").isSameAs(oldEndpoints.get(name).resource());
    });
    assertThat(now.version(Resources.ResourceType.CLUSTER)).as("the clusters did not change")
        .isEqualTo(before.version(Resources.ResourceType.CLUSTER));

    builder.build(MeshState.of(endpoints), policy.withMtls(!policy.mtls()), BurstShares.none(), SECRETS);
    assertThat(builder.servicesBuilt()).as("a mesh-wide change rebuilds every service").isEqualTo(2L * all + 1);
  }

  @Test
  void aHealthChangeKeepsEveryOtherResourceAndTheUntouchedTypesWhole() {
    MeshPolicy policy = policy(6);
    List<MeshEndpoint> endpoints = new ArrayList<>();
    Random random = new Random(11);
    for (int i = 0; i < 30; i++) {
      endpoints.add(endpoint(random, "svc-" + (i % 6), i));
    }
    IncrementalSnapshotBuilder builder = new IncrementalSnapshotBuilder();
    MeshSnapshots first = builder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS);
    endpoints.set(3, endpoints.get(3).withHealth(EndpointHealth.UNHEALTHY)); // svc-3, a gRPC service
    MeshSnapshots after = builder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS);
    assertSame(after, MeshSnapshotBuilder.build(MeshState.of(endpoints), policy, BurstShares.none(), SECRETS),
        "after the change");

    first.snapshots().forEach((group, before) -> {
      Snapshot now = after.snapshots().get(group);
      assertThat(now.clusters()).as(group + ": the clusters were not reassembled").isSameAs(before.clusters());
      assertThat(now.listeners()).as(group + ": nor the listeners").isSameAs(before.listeners());
      assertThat(now.routes()).as(group + ": nor the routes").isSameAs(before.routes());
      Map<String, VersionedResource<?>> old = before.versionedResources(Resources.ResourceType.ENDPOINT);
      Map<String, VersionedResource<?>> current = now.versionedResources(Resources.ResourceType.ENDPOINT);
      assertThat(current.keySet()).as(group.toString()).isEqualTo(old.keySet());
      boolean changed = false;
      for (Map.Entry<String, VersionedResource<?>> e : current.entrySet()) {
        VersionedResource<?> was = old.get(e.getKey());
        if (e.getKey().startsWith("svc-3")) {
          changed |= !e.getValue().version().equals(was.version());
          continue;
        }
        assertThat(e.getValue().resource()).as(group + " " + e.getKey() + ": the same instance")
            .isSameAs(was.resource());
        assertThat(e.getValue().version()).as(group + " " + e.getKey()).isEqualTo(was.version());
      }
      assertThat(changed).as(group + ": svc-3's assignments changed").isTrue();
      assertThat(now.version(Resources.ResourceType.ENDPOINT)).as(group.toString())
          .isNotEqualTo(before.version(Resources.ResourceType.ENDPOINT));
    });
  }

  private static Map<String, String> versions(MeshSnapshots snapshots) {
    Map<String, String> out = new HashMap<>();
    snapshots.snapshots().forEach((group, s) -> {
      for (Resources.ResourceType type : Resources.ResourceType.values()) {
        out.put(group + " " + type, s.version(type));
      }
    });
    return out;
  }

  /** Same groups, and per group and type the same version, resources and per-resource versions. */
  private static void assertSame(MeshSnapshots actual, MeshSnapshots expected, String when) {
    assertThat(actual.snapshots().keySet()).as(when).isEqualTo(expected.snapshots().keySet());
    expected.snapshots().forEach((group, e) -> {
      Snapshot a = actual.snapshots().get(group);
      for (Resources.ResourceType type : Resources.ResourceType.values()) {
        String what = when + ", " + group + " " + type;
        assertThat(a.version(type)).as(what).isEqualTo(e.version(type));
        assertThat(List.copyOf(a.resources(type).keySet())).as(what).isEqualTo(List.copyOf(e.resources(type).keySet()));
        assertThat(a.resources(type)).as(what).isEqualTo(e.resources(type));
        Map<String, String> aVersions = new HashMap<>();
        a.versionedResources(type).forEach((k, v) -> aVersions.put(k, v.version()));
        Map<String, String> eVersions = new HashMap<>();
        e.versionedResources(type).forEach((k, v) -> eVersions.put(k, v.version()));
        assertThat(aVersions).as(what).isEqualTo(eVersions);
      }
    });
  }
}
