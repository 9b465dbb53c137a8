package io.infermesh.xds.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Protocol;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.snapshot.VersionWeight;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MeshConfigLoaderTest {

  private static final Path BASE = Path.of("/etc/infermesh");

  private static MeshConfig parse(String yaml) {
    return MeshConfigLoader.parse(yaml, "mesh.yaml", BASE);
  }

  private static final String LOOPBACK = "control: {xds: {address: 127.0.0.1, plaintext: true}}\n";

  @Test
  void load_deployMeshYaml_isValidAndAnnotatedValuesArrive() {
    MeshConfig config = MeshConfigLoader.load(deployDir().resolve("mesh.yaml"));
    assertThat(config.policy().regions()).extracting(r -> r.name() + ":" + r.tier())
        .containsExactly("eu-west:PRIVATE", "us-east:PRIVATE", "public-burst:PUBLIC");
    var core = config.policy().service("core-inference").orElseThrow();
    assertThat(core.versions()).containsExactly(new VersionWeight("v1", 90), new VersionWeight("v2", 10));
    assertThat(core.shadow().orElseThrow().percent()).isEqualTo(5.0);
    assertThat(core.pathPrefix()).isEqualTo("/infermesh.v1.Inference/");
    assertThat(config.policy().service("edge-http").orElseThrow().protocol()).isEqualTo(Protocol.HTTP);
    assertThat(config.policy().burst().highWatermark()).isEqualTo(0.80);
    assertThat(config.policy().mtls()).isTrue();
    assertThat(config.control().xdsPort()).isEqualTo(18_000);
    assertThat(config.control().adminPort()).isEqualTo(18_080);
    assertThat(config.control().credentials().orElseThrow().directory())
        .isEqualTo(deployDir().toAbsolutePath().resolve("../mesh/certs"));
    assertThat(config.consul()).isEmpty();
    assertThat(config.staticEndpoints()).hasSize(5);
    MeshEndpoint burst = config.staticEndpoints().stream().filter(e -> e.region().equals("public-burst"))
        .findFirst().orElseThrow();
    assertThat(burst.tier()).isEqualTo(Tier.PUBLIC);
  }

  @Test
  void defaults_embeddedConfig_isLoopbackPlaintextWithOneLocalEndpoint() {
    MeshConfig config = MeshConfigLoader.defaults();
    assertThat(config.control().plaintext()).isTrue();
    assertThat(config.control().xdsAddress()).isEqualTo("127.0.0.1");
    assertThat(config.policy().mtls()).isFalse();
    assertThat(config.staticEndpoints()).singleElement()
        .satisfies(e -> assertThat(e.port()).isEqualTo(9443));
  }

  @Test
  void parse_minimalFile_takesEveryDefault() {
    MeshConfig config = parse(LOOPBACK);
    assertThat(config.policy().trustDomain()).isEqualTo("mesh.local");
    assertThat(config.policy().services()).singleElement()
        .satisfies(s -> assertThat(s.name()).isEqualTo("core-inference"));
    assertThat(config.policy().burst().minHold()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.policy().upstream().retries().numRetries()).isEqualTo(2);
    assertThat(config.control().refreshInterval()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void parse_unknownKey_failsNamingItsPath() {
    assertThatThrownBy(() -> parse(LOOPBACK + "burst: {high_watermrk: 0.9}\n"))
        .isInstanceOf(MeshConfigException.class)
        .hasMessageContaining("mesh.yaml: burst.high_watermrk: unknown key");
    assertThatThrownBy(() -> parse(LOOPBACK + "colour: blue\n")).hasMessageContaining("colour: unknown key");
  }

  @Test
  void parse_invalidValue_failsNamingKeyAndReason() {
    assertThatThrownBy(() -> parse(LOOPBACK + "burst: {high_watermark: 0.5, low_watermark: 0.7}\n"))
        .hasMessageContaining("burst.low_watermark must be in [0, high_watermark)");
    assertThatThrownBy(() -> parse(LOOPBACK + "envoy: {listener_port: 70000}\n"))
        .hasMessageContaining("envoy.listener_port must be 1..65535");
    assertThatThrownBy(() -> parse(LOOPBACK + "regions: [{name: EU_West}]\n"))
        .hasMessageContaining("regions[0]").hasMessageContaining("DNS label");
    assertThatThrownBy(() -> parse(LOOPBACK + "services: [{name: a, versions: [{version: v1, weight: -1}]}]\n"))
        .hasMessageContaining("services[0].versions[0]").hasMessageContaining("weight");
  }

  @Test
  void parse_wrongType_failsNamingTheKey() {
    assertThatThrownBy(() -> parse(LOOPBACK + "upstream: {circuit_breakers: {max_requests: lots}}\n"))
        .hasMessageContaining("upstream.circuit_breakers.max_requests: must be a whole number, was 'lots'");
    assertThatThrownBy(() -> parse(LOOPBACK + "burst: {min_hold: soon}\n"))
        .hasMessageContaining("burst.min_hold: must be a duration");
    assertThatThrownBy(() -> parse(LOOPBACK + "mtls: maybe\n")).hasMessageContaining("mtls: must be true or false");
    assertThatThrownBy(() -> parse(LOOPBACK + "regions: {eu: private}\n")).hasMessageContaining("regions: must be a list");
    assertThatThrownBy(() -> parse("- just\n- a list\n")).hasMessageContaining("must be a mapping");
    assertThatThrownBy(() -> parse("a: [unclosed\n")).hasMessageContaining("not valid YAML");
  }

  @Test
  void parse_plaintextOffLoopback_isRefused() {
    assertThatThrownBy(() -> parse("control: {xds: {address: 0.0.0.0, plaintext: true}}\n"))
        .hasMessageContaining("control.xds.plaintext is only allowed on a loopback address");
  }

  @Test
  void parse_mtlsWithoutCredentials_isRefused() {
    assertThatThrownBy(() -> parse("control: {xds: {address: 0.0.0.0}}\n"))
        .hasMessageContaining("control.credentials is required");
  }

  @Test
  void parse_credentialsAndGatewayCertificates_resolveAgainstTheFilesDirectory() {
    MeshConfig config = parse("control: {credentials: {directory: certs, name: cp-1}, gateway_certificates: gw}\n");
    assertThat(config.control().credentials().orElseThrow())
        .isEqualTo(new ControlSettings.Credentials(BASE.resolve("certs"), "cp-1"));
    assertThat(config.control().gatewayCertificateDirectory()).contains(BASE.resolve("gw"));
    assertThat(parse("control: {credentials: {directory: certs, name: cp-1}}\n").control()
        .gatewayCertificateDirectory()).as("default: the credentials directory").contains(BASE.resolve("certs"));
  }

  @Test
  void parse_caDirectory_isRefusedSayingTheControlPlaneHoldsNoCaKey() {
    assertThatThrownBy(() -> parse("control: {credentials: {directory: certs, name: cp-1}, ca_directory: ca}\n"))
        .hasMessageContaining("control.ca_directory").hasMessageContaining("infermesh certs issue --role gateway");
  }

  @Test
  void parse_consulEnabled_readsItsSettings() {
    MeshConfig config = parse(LOOPBACK
        + "discovery: {consul: {enabled: true, address: 'http://consul:8500', wait: 2m, services: [core-inference]}}\n");
    ConsulSettings consul = config.consul().orElseThrow();
    assertThat(consul.port()).isEqualTo(8500);
    assertThat(consul.blockingWait()).isEqualTo(Duration.ofMinutes(2));
    assertThat(consul.services()).containsExactly("core-inference");
    assertThatThrownBy(() -> parse(LOOPBACK + "discovery: {consul: {enabled: true, address: 'ftp://x'}}\n"))
        .hasMessageContaining("discovery.consul").hasMessageContaining("http:// or https://");
  }

  @Test
  void parse_duplicateStaticEndpoint_isRefused() {
    String yaml = LOOPBACK + "discovery: {static: [{address: 10.0.0.1, region: a}, {address: 10.0.0.1, region: a}]}\n";
    assertThatThrownBy(() -> parse(yaml)).hasMessageContaining("discovery.static").hasMessageContaining("duplicate");
  }

  @Test
  void parseDuration_acceptsShortAndIsoForms() {
    assertThat(ConfigNode.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(ConfigNode.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(ConfigNode.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(ConfigNode.parseDuration("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(ConfigNode.parseDuration("1d")).isEqualTo(Duration.ofDays(1));
    assertThat(ConfigNode.parseDuration("PT30S")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ConfigNode.parseDuration("0")).isZero();
    assertThatThrownBy(() -> ConfigNode.parseDuration("forever")).isInstanceOf(IllegalArgumentException.class);
  }

  static Path deployDir() {
    String dir = System.getProperty("infermesh.deploy.dir");
    if (dir == null) {
      throw new AssertionError("system property infermesh.deploy.dir is not set (the module POM sets it)");
    }
    return Path.of(dir);
  }
}
