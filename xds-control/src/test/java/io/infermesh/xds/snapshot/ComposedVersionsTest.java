package io.infermesh.xds.snapshot;

import static io.infermesh.xds.snapshot.MeshFixtures.BURST;
import static io.infermesh.xds.snapshot.MeshFixtures.EU;
import static io.infermesh.xds.snapshot.MeshFixtures.US;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Versions composed from the inputs that shape a resource (endpoints, localities, load
 * assignments, API listeners, route configurations) instead of from its encoding: across builds
 * that change every such input, a resource's version changes exactly when the resource does.
 */
class ComposedVersionsTest {

  private static final String[] REGIONS = {EU, US, BURST};

  private static MeshEndpoint endpoint(Random random, int n) {
    String region = REGIONS[random.nextInt(REGIONS.length)];
    return MeshEndpoint.builder("svc-" + random.nextInt(3), "10.2.0." + random.nextInt(4), 9443 + random.nextInt(2),
            region)
        .id("e" + n)
        .zone(random.nextBoolean() ? "a" : "b")
        .tier(region.equals(BURST) || random.nextInt(5) == 0 ? Tier.PUBLIC : Tier.PRIVATE)
        .model(random.nextBoolean() ? "m1" : "m2")
        .version(random.nextBoolean() ? "v1" : "v2")
        .health(EndpointHealth.values()[random.nextInt(3)])
        .build();
  }

  @Test
  void build_everyInputChanging_versionChangesExactlyWhenTheResourceDoes() {
    Random random = new Random(7);
    MeshPolicy policy = MeshFixtures.policy().withService(ServicePolicy.grpc("svc-0"))
        .withService(ServicePolicy.grpc("svc-1")).withService(ServicePolicy.grpc("svc-2").withProtocol(Protocol.HTTP)
            .withPathPrefix("/svc-2/"));
    List<MeshEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      endpoints.add(endpoint(random, i));
    }
    BurstShares shares = BurstShares.none();
    // per (group, type, name): each resource seen with its version, and each version with its resource
    Map<String, Map<Message, String>> versionOf = new HashMap<>();
    Map<String, Map<String, Message>> resourceOf = new HashMap<>();
    int compared = 0;
    for (int step = 0; step < 200; step++) {
      String service = "svc-" + random.nextInt(3);
      ServicePolicy sp = policy.service(service).orElseThrow();
      int i = random.nextInt(endpoints.size());
      switch (random.nextInt(10)) {
        case 0 -> endpoints.set(i, endpoint(random, 1000 + step)); // another endpoint in its place
        case 1 -> endpoints.set(i, endpoints.get(i).withHealth(EndpointHealth.values()[random.nextInt(3)]));
        case 2 -> policy = policy.withService(sp.withPathPrefix(random.nextBoolean() ? "/" : "/" + service + "/"));
        case 3 -> policy = policy.withService(new ServicePolicy(sp.name(), sp.protocol(), sp.pathPrefix(),
            sp.serverRole(), sp.versions(), sp.shadow(), random.nextBoolean() ? "x-pin" : "x-other-pin",
            sp.requestTimeout()));
        case 4 -> policy = policy.withService(sp.withRequestTimeout(Duration.ofSeconds(random.nextInt(3))));
        case 5 -> policy = policy.withService(sp.withShadow(new ShadowPolicy("v2", 1 + random.nextInt(3))));
        case 6 -> policy = policy.withService(sp.withVersions(random.nextBoolean() ? List.of()
            : List.of(new VersionWeight("v1", 10 * random.nextInt(10)), new VersionWeight("v2", 100))));
        case 7 -> shares = random.nextBoolean() ? BurstShares.none()
            : BurstShares.of(service, random.nextBoolean() ? EU : US, 0.1 * (1 + random.nextInt(5)));
        case 8 -> policy = policy.withUpstream(policy.upstream().withRetries(new UpstreamPolicy.RetrySettings(
            random.nextBoolean() ? List.of("unavailable") : List.of("unavailable", "reset"), 1 + random.nextInt(2),
            Duration.ofMillis(25), Duration.ofMillis(250))));
        default -> endpoints.add(endpoint(random, 100 + step));
      }
      MeshSnapshots built = MeshSnapshotBuilder.build(MeshState.of(endpoints), policy, shares, SecretMaterial.none());
      for (Map.Entry<XdsGroup, Snapshot> group : built.snapshots().entrySet()) {
        for (Resources.ResourceType type : Resources.ResourceType.values()) {
          for (Map.Entry<String, ? extends VersionedResource<?>> r
              : group.getValue().versionedResources(type).entrySet()) {
            String key = group.getKey() + " " + type + " " + r.getKey();
            Message resource = r.getValue().resource();
            String version = r.getValue().version();
            String before = versionOf.computeIfAbsent(key, k -> new HashMap<>()).putIfAbsent(resource, version);
            assertThat(before == null ? version : before).as(key + ": the same resource, the same version")
                .isEqualTo(version);
            Message was = resourceOf.computeIfAbsent(key, k -> new HashMap<>()).putIfAbsent(version, resource);
            assertThat(was == null ? resource : was).as(key + ": the same version, the same resource")
                .isEqualTo(resource);
            compared++;
          }
        }
      }
    }
    long changed = versionOf.values().stream().filter(m -> m.size() > 1).count();
    assertThat(changed).as("resources that took several contents over the walk").isGreaterThan(20);
    assertThat(compared).isGreaterThan(1000);
  }
}
