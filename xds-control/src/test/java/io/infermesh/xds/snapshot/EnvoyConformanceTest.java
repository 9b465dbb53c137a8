package io.infermesh.xds.snapshot;

import static io.infermesh.xds.snapshot.MeshFixtures.EU;
import static io.infermesh.xds.snapshot.MeshFixtures.SERVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No Envoy binary can be installed here, so Envoy configuration is checked against Envoy's v3
 * protos: every generated resource of every group, and every bootstrap file in
 * {@code deploy/envoy/}, must parse strictly with no unknown fields and only resolvable
 * {@code Any} types.
 */
class EnvoyConformanceTest {

  private static MeshSnapshots everything() {
    ServicePolicy core = ServicePolicy.grpc(SERVICE)
        .withPathPrefix("/infermesh.v1.Inference/")
        .withVersions(List.of(new VersionWeight("v1", 90), new VersionWeight("v2", 10)))
        .withShadow(new ShadowPolicy("v3", 2.5))
        .withRequestTimeout(Duration.ofMinutes(5));
    ServicePolicy http = new ServicePolicy("edge-http", Protocol.HTTP, "/", "edge", List.of(),
        Optional.empty(), ServicePolicy.DEFAULT_PIN_HEADER, Duration.ofSeconds(60));
    MeshPolicy policy = MeshFixtures.policy().withService(core).withService(http)
        .withUpstream(UpstreamPolicy.defaults().withLbPolicy(UpstreamPolicy.LbPolicy.LEAST_REQUEST));
    List<MeshEndpoint> eps = new ArrayList<>(MeshFixtures.endpoints());
    eps.add(MeshEndpoint.builder(SERVICE, "10.5.0.1", 9443, EU).id("c2").version("v2").build());
    eps.add(MeshEndpoint.builder(SERVICE, "10.5.0.2", 9443, EU).id("c3").version("v3").health(EndpointHealth.DRAINING).build());
    eps.add(MeshEndpoint.builder("edge-http", "10.6.0.1", 8080, EU).build());
    SecretMaterial secrets = new SecretMaterial("-----BEGIN CERTIFICATE-----\n",
        Map.of("spiffe://mesh.local/" + EU + "/gateway/gw-1", new SecretMaterial.Identity("chain", "key")));
    return MeshSnapshotBuilder.build(MeshState.of(eps), policy, BurstShares.of(SERVICE, EU, 0.2), secrets);
  }

  @Test
  void everyGeneratedResource_parsesStrictlyIntoEnvoyV3Protos() {
    int checked = 0;
    for (Snapshot snapshot : everything().snapshots().values()) {
      for (Resources.ResourceType type : Resources.ResourceType.values()) {
        for (Message resource : snapshot.resources(type).values()) {
          // through the wire: serialize, parse with the type the type URL names, check, compare
          Any packed = Any.pack(resource);
          assertThat(Resources.TYPE_URLS_TO_RESOURCE_TYPE.get(packed.getTypeUrl())).isEqualTo(type);
          EnvoyProtoChecks.assertClean(packed);
          EnvoyProtoChecks.assertClean(resource);
          checked++;
        }
      }
    }
    assertThat(checked).isGreaterThan(50);
  }

  @Test
  void assertClean_unknownField_fails() {
    Cluster withUnknown = Cluster.newBuilder().setName("x")
        .setUnknownFields(UnknownFieldSet.newBuilder()
            .addField(9999, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build())
        .build();
    assertThatThrownBy(() -> EnvoyProtoChecks.assertClean(withUnknown)).hasMessageContaining("unknown fields");
  }

  @Test
  void assertClean_unresolvableAnyType_fails() {
    Any bogus = Any.newBuilder().setTypeUrl("type.googleapis.com/envoy.extensions.nothing.v3.Nope")
        .setValue(ByteString.EMPTY).build();
    assertThatThrownBy(() -> EnvoyProtoChecks.assertClean(bogus)).hasMessageContaining("does not resolve");
  }

  @Test
  void deployEnvoyBootstraps_parseStrictlyAndPointAtTheControlPlane() throws IOException {
    Path dir = deployDir().resolve("envoy");
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files).as("bootstrap files in " + dir).hasSizeGreaterThanOrEqualTo(2);
    for (Path file : files) {
      Bootstrap bootstrap = EnvoyProtoChecks.parseBootstrap(file);
      assertThat(bootstrap.getNode().getMetadata().getFieldsMap().get("infermesh.role").getStringValue())
          .as(file + " role").isEqualTo("envoy");
      String region = bootstrap.getNode().getMetadata().getFieldsMap().get("infermesh.region").getStringValue();
      assertThat(file.getFileName().toString()).as("file named after its region").contains(region);
      assertThat(bootstrap.getDynamicResources().getAdsConfig().getGrpcServices(0).getEnvoyGrpc().getClusterName())
          .isEqualTo("xds-control");
      assertThat(bootstrap.getDynamicResources().getLdsConfig().hasAds()).isTrue();
      assertThat(bootstrap.getDynamicResources().getCdsConfig().hasAds()).isTrue();
      assertThat(bootstrap.getStaticResources().getClustersList())
          .anySatisfy(c -> {
            assertThat(c.getName()).isEqualTo("xds-control");
            assertThat(c.hasTransportSocket()).as("xDS over mTLS").isTrue();
          });
    }
  }

  @Test
  void parseBootstrap_misspelledField_fails(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
    Path bad = tmp.resolve("bad.yaml");
    Files.writeString(bad, "node:\n  id: x\n  clustr: y\n");
    assertThatThrownBy(() -> EnvoyProtoChecks.parseBootstrap(bad))
        .isInstanceOf(com.google.protobuf.InvalidProtocolBufferException.class)
        .hasMessageContaining("clustr");
  }

  static Path deployDir() {
    String dir = System.getProperty("infermesh.deploy.dir");
    if (dir == null) {
      throw new AssertionError("system property infermesh.deploy.dir is not set (the module POM sets it)");
    }
    return Path.of(dir);
  }
}
