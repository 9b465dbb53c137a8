package io.infermesh.edge.escalate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.NameResolverRegistry;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** {@link XdsTargets}: which targets are xDS, and where grpc-xds would find its bootstrap. */
class XdsTargetsTest {

  @Test
  void isXds_xdsSchemeOnly_true() {
    assertThat(XdsTargets.isXds("xds:///core-inference")).isTrue();
    assertThat(XdsTargets.isXds("XDS:///core-inference")).isTrue();
    assertThat(XdsTargets.isXds("127.0.0.1:9443")).isFalse();
    assertThat(XdsTargets.isXds("dns:///core.local:9443")).isFalse();
    assertThat(XdsTargets.isXds("xds-core:9443,b:1")).isFalse();
  }

  @Test
  void defaultRegistry_grpcXdsOnTheClassPath_resolvesTheXdsScheme() {
    assertThat(NameResolverRegistry.getDefaultRegistry().getProviderForScheme("xds")).isNotNull();
  }

  @Test
  void bootstrapSource_envBeforeProperties_inGrpcXdsOrder() {
    Properties props = new Properties();
    props.setProperty("io.grpc.xds.bootstrapConfig", "{}");
    assertThat(XdsTargets.bootstrapSource(Map.of(), props)).hasValue("io.grpc.xds.bootstrapConfig");
    assertThat(XdsTargets.bootstrapSource(Map.of("GRPC_XDS_BOOTSTRAP_CONFIG", "{}"), props))
        .hasValue("GRPC_XDS_BOOTSTRAP_CONFIG");
    assertThat(XdsTargets.bootstrapSource(Map.of("GRPC_XDS_BOOTSTRAP", "/b.json", "GRPC_XDS_BOOTSTRAP_CONFIG", "{}"),
        props)).hasValue("GRPC_XDS_BOOTSTRAP");
    assertThat(XdsTargets.bootstrapSource(Map.of("GRPC_XDS_BOOTSTRAP", " "), new Properties())).isEmpty();
  }

  @Test
  void requireResolvable_noBootstrap_failsNamingTheKeyAndWhatToSet() {
    assertThatThrownBy(() -> XdsTargets.requireResolvable("xds:///core-inference", Map.of(), new Properties()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("escalation.target: 'xds:///core-inference' needs a grpc-xds bootstrap")
        .hasMessageContaining("GRPC_XDS_BOOTSTRAP_CONFIG");
  }

  @Test
  void requireResolvable_bootstrapInAProperty_returnsItsName() {
    Properties props = new Properties();
    props.setProperty("io.grpc.xds.bootstrap", "/etc/infermesh/xds-bootstrap.json");
    assertThat(XdsTargets.requireResolvable("xds:///core-inference", Map.of(), props))
        .isEqualTo("io.grpc.xds.bootstrap");
  }
}
