package io.infermesh.xds.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.xds.canary.RolloutPlan;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Protocol;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.snapshot.VersionWeight;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshConfigLoaderTest {

  private static final Path BASE = Path.of("/etc/infermesh");

  private static MeshConfig parse(String yaml) {
    return MeshConfigLoader.parse(yaml, "mesh.yaml", BASE);
  }

  private static final String LOOPBACK = "control: {xds: {address: 127.0.0.1, plaintext: true}}\n";

  @Test
  void load_deployMeshYaml_isValidAndAnnotatedValuesArrive() throws Exception {
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
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("mesh.yaml: burst.high_watermrk: unknown key");
    assertThatThrownBy(() -> parse(LOOPBACK + "colour: blue\n")).hasMessageContaining("colour: unknown key");
  }

  @Test
  void parse_invalidValue_failsNamingKeyAndReason() {
    assertThatThrownBy(() -> parse(LOOPBACK + "burst: {high_watermark: 0.5, low_watermark: 0.7}\n"))
        .hasMessageContaining("mesh.yaml: burst.low_watermark: must be in [0, high_watermark)");
    assertThatThrownBy(() -> parse(LOOPBACK + "envoy: {listener_port: 70000}\n"))
        .hasMessageContaining("mesh.yaml: envoy.listener_port: must be 1..65535");
    assertThatThrownBy(() -> parse(LOOPBACK + "regions: [{name: EU_West}]\n"))
        .hasMessageContaining("regions[0]").hasMessageContaining("DNS label");
    assertThatThrownBy(() -> parse(LOOPBACK + "services: [{name: a, versions: [{version: v1, weight: -1}]}]\n"))
        .hasMessageContaining("services[0].versions[0]").hasMessageContaining("weight");
  }

  @Test
  void parse_wrongType_failsNamingTheKey() {
    assertThatThrownBy(() -> parse(LOOPBACK + "upstream: {circuit_breakers: {max_requests: lots}}\n"))
        .hasMessageContaining("upstream.circuit_breakers.max_requests: must be an integer, got lots");
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
        .hasMessageContaining("mesh.yaml: control.xds.plaintext: is only allowed on a loopback address");
  }

  @Test
  void parse_mtlsWithoutCredentials_isRefused() {
    assertThatThrownBy(() -> parse("control: {xds: {address: 0.0.0.0}}\n"))
        .hasMessageContaining("mesh.yaml: control.credentials: is required");
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
    ConsulConfig consul = config.consul().orElseThrow();
    assertThat(consul.port()).isEqualTo(8500);
    assertThat(consul.watch().orElseThrow().blockingWait()).isEqualTo(Duration.ofMinutes(2));
    assertThat(consul.watch().orElseThrow().services()).containsExactly("core-inference");
    assertThatThrownBy(() -> parse(LOOPBACK + "discovery: {consul: {enabled: true, address: 'ftp://x'}}\n"))
        .hasMessageContaining("discovery.consul.address: must be the agent's http(s)://host:port");
  }

  @Test
  void parse_duplicateStaticEndpoint_isRefused() {
    String yaml = LOOPBACK + "discovery: {static: [{address: 10.0.0.1, region: a}, {address: 10.0.0.1, region: a}]}\n";
    assertThatThrownBy(() -> parse(yaml)).hasMessageContaining("discovery.static").hasMessageContaining("duplicate");
  }

  @Test
  void parse_durationsInEveryForm_readThroughTheOneGrammar() {
    assertThat(parse(LOOPBACK + "burst: {min_hold: 500ms}\n").policy().burst().minHold()).isEqualTo(Duration.ofMillis(500));
    assertThat(parse(LOOPBACK + "burst: {min_hold: 1.5s}\n").policy().burst().minHold())
        .isEqualTo(Duration.ofMillis(1500));
    assertThat(parse(LOOPBACK + "burst: {min_hold: 5m}\n").policy().burst().minHold()).isEqualTo(Duration.ofMinutes(5));
    assertThat(parse(LOOPBACK + "burst: {min_hold: 2h}\n").policy().burst().minHold()).isEqualTo(Duration.ofHours(2));
    assertThat(parse(LOOPBACK + "burst: {min_hold: 1d}\n").policy().burst().minHold()).isEqualTo(Duration.ofDays(1));
    assertThat(parse(LOOPBACK + "burst: {min_hold: PT30S}\n").policy().burst().minHold())
        .isEqualTo(Duration.ofSeconds(30));
    assertThat(parse(LOOPBACK + "burst: {min_hold: 0}\n").policy().burst().minHold()).isZero();
    assertThatThrownBy(() -> parse(LOOPBACK + "burst: {min_hold: forever}\n")).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("mesh.yaml: burst.min_hold: must be a duration such as");
  }

  @Test
  void parse_numberWrittenAsText_isRefusedNotGuessed() {
    assertThatThrownBy(() -> parse(LOOPBACK + "envoy: {listener_port: '10000'}\n"))
        .hasMessage("mesh.yaml: envoy.listener_port: must be an integer, got 10000");
    assertThatThrownBy(() -> parse(LOOPBACK + "burst: {high_watermark: '0.9'}\n"))
        .hasMessage("mesh.yaml: burst.high_watermark: must be a number, got '0.9'");
  }

  @Test
  void parse_consulDisabled_isStillCheckedAndRefusesANodesKeys() {
    assertThatThrownBy(() -> parse(LOOPBACK + "discovery: {consul: {enabled: false, wait: 1h}}\n"))
        .hasMessageStartingWith("mesh.yaml: discovery.consul.wait: must be 1s..10m");
    assertThatThrownBy(() -> parse(LOOPBACK + "discovery: {consul: {service_name: core-inference}}\n"))
        .hasMessageStartingWith("mesh.yaml: discovery.consul.service_name: unknown key");
    assertThatThrownBy(() -> parse(LOOPBACK + "discovery: {consul: {enabled: true, address: ''}}\n"))
        .hasMessage("mesh.yaml: discovery.consul.address: must be the agent's http(s)://host:port when enabled is true");
  }

  @Test
  void load_missingFile_saysSoNamingIt(@TempDir Path dir) {
    assertThatThrownBy(() -> MeshConfigLoader.load(dir.resolve("nope.yaml"))).isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("nope.yaml: config file not found");
  }

  @Test
  void load_badValue_prefixesThePathAsGiven(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("mesh.yaml"), LOOPBACK + "burst: {high_watermrk: 0.9}\n");

    assertThatThrownBy(() -> MeshConfigLoader.load(file)).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(file + ": burst.high_watermrk: unknown key")
        .extracting(e -> ((ConfigException) e).key()).isEqualTo("burst.high_watermrk");
  }

  static Path deployDir() {
    String dir = System.getProperty("infermesh.deploy.dir");
    if (dir == null) {
      throw new AssertionError("system property infermesh.deploy.dir is not set (the module POM sets it)");
    }
    return Path.of(dir);
  }

  private static final String ROLLOUT_MESH = LOOPBACK + """
      mtls: false
      services:
        - name: core-inference
      """;

  @Test
  void parse_rollout_readsEveryKey() {
    MeshConfig config = parse(ROLLOUT_MESH + """
        rollouts:
          - service: core-inference
            stable: v1
            canary: v2
            steps: [5, 25, 100]
            dwell: 2m
            min_requests: 50
            max_error_rate: 0.02
            max_ttft_p99: 800ms
            interval: 5s
        """);

    assertThat(config.rollouts()).singleElement().isEqualTo(new RolloutPlan(
        "core-inference", "v1", "v2", List.of(5, 25, 100), Duration.ofMinutes(2), 50, 0.02,
        Duration.ofMillis(800), Duration.ofSeconds(5)));
  }

  @Test
  void parse_rolloutDefaults_areTheDocumentedOnes() {
    MeshConfig config = parse(ROLLOUT_MESH + "rollouts: [{service: core-inference, stable: v1, canary: v2}]\n");
    assertThat(config.rollouts()).containsExactly(RolloutPlan.of("core-inference", "v1", "v2"));
  }

  @Test
  void parse_badRollouts_areRefusedNamingTheKey() {
    assertThatThrownBy(() -> parse(ROLLOUT_MESH + "rollouts: [{service: nope, stable: v1, canary: v2}]\n"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("rollouts[0].service: must name a service listed");
    assertThatThrownBy(() -> parse(ROLLOUT_MESH
        + "rollouts: [{service: core-inference, stable: v1, canary: v2, steps: [10, 5, 100]}]\n"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("rollouts[0]").hasMessageContaining("rise strictly");
    assertThatThrownBy(() -> parse(ROLLOUT_MESH
        + "rollouts: [{service: core-inference, stable: v1, canary: v2, steps: [10, '50', 100]}]\n"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("rollouts[0].steps[1]: must be an integer");
    assertThatThrownBy(() -> parse(ROLLOUT_MESH
        + "rollouts: [{service: core-inference, stable: v1, canary: v1}]\n"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("canary must differ from stable");
    assertThatThrownBy(() -> parse(LOOPBACK + """
        mtls: false
        services:
          - name: core-inference
            versions: [{version: v1, weight: 90}, {version: v2, weight: 10}]
        rollouts: [{service: core-inference, stable: v1, canary: v2}]
        """)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("declares versions itself; a rollout sets its weights");
  }

  @Test
  void parse_staticMetricsPort_arrivesOnTheEndpoint() {
    MeshConfig config = parse(ROLLOUT_MESH + """
        discovery:
          static:
            - {address: 10.0.0.1, port: 9443, region: local, metrics_port: 9464}
        """);
    assertThat(config.staticEndpoints().get(0).metricsPort()).isEqualTo(9464);
  }
}
