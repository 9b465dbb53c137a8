package io.infermesh.xds.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import org.junit.jupiter.api.Test;

class MeshNodeGroupTest {

  private final MeshNodeGroup groups = MeshNodeGroup.of(MeshFixtures.policy());

  private static Node node(String role, String region) {
    Struct.Builder meta = Struct.newBuilder();
    if (role != null) {
      meta.putFields(MeshNodeGroup.ROLE_KEY, Value.newBuilder().setStringValue(role).build());
    }
    if (region != null) {
      meta.putFields(MeshNodeGroup.REGION_KEY, Value.newBuilder().setStringValue(region).build());
    }
    return Node.newBuilder().setId("n").setMetadata(meta).build();
  }

  @Test
  void hash_metadata_givesRoleAndRegion() {
    assertThat(groups.hash(node("envoy", "eu-west"))).isEqualTo(new XdsGroup(DataPlane.ENVOY, "eu-west"));
    assertThat(groups.hash(node("grpc", "us-east"))).isEqualTo(new XdsGroup(DataPlane.GRPC, "us-east"));
    assertThat(groups.hash(node("GRPC", "us-east"))).isEqualTo(new XdsGroup(DataPlane.GRPC, "us-east"));
  }

  @Test
  void hash_noRegionInMetadata_usesTheLocality() {
    Node n = node("grpc", null).toBuilder().setLocality(Locality.newBuilder().setRegion("eu-west")).build();
    assertThat(groups.hash(n)).isEqualTo(new XdsGroup(DataPlane.GRPC, "eu-west"));
  }

  @Test
  void hash_unknownRegion_isUnlocated() {
    assertThat(groups.hash(node("envoy", "mars-1"))).isEqualTo(XdsGroup.unlocated(DataPlane.ENVOY));
    assertThat(groups.hash(Node.getDefaultInstance())).isEqualTo(XdsGroup.unlocated(DataPlane.ENVOY));
  }

  @Test
  void hash_noOrBadRole_fallsBackToTheUserAgent() {
    Node grpc = node(null, "eu-west").toBuilder().setUserAgentName("gRPC Java").build();
    assertThat(groups.hash(grpc).plane()).isEqualTo(DataPlane.GRPC);
    Node typo = node("envoi", "eu-west").toBuilder().setUserAgentName("envoy").build();
    assertThat(groups.hash(typo).plane()).isEqualTo(DataPlane.ENVOY);
  }

  @Test
  void hash_nonStringMetadata_isIgnored() {
    Node n = Node.newBuilder().setMetadata(Struct.newBuilder()
        .putFields(MeshNodeGroup.ROLE_KEY, Value.newBuilder().setNumberValue(1).build())).build();
    assertThat(groups.hash(n)).isEqualTo(XdsGroup.unlocated(DataPlane.ENVOY));
  }
}
