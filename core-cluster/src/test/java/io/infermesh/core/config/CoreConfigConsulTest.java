package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.registration.ConsulConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code consul:} section of {@code core.yaml}. */
class CoreConfigConsulTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static CoreConfig parse(String yaml) throws Exception {
    JsonNode root = YAML.readTree(yaml);
    return CoreConfigLoader.parse(root == null ? YAML.createObjectNode() : root, Path.of("/etc/infermesh"));
  }

  private static Duration window(CoreConfig config) {
    return config.consul().registration().orElseThrow().utilizationWindow().orElseThrow();
  }

  @Test
  void parse_noConsulSection_registersNowhere() throws Exception {
    ConsulConfig consul = parse("node: {name: core-0}").consul();

    assertThat(consul.enabled()).isFalse();
    assertThat(consul).isEqualTo(CoreConfig.CONSUL_DEFAULT);
    ConsulConfig.Registration r = consul.registration().orElseThrow();
    assertThat(r.serviceName()).isEqualTo("core-inference");
    assertThat(r.tier()).isEqualTo("private");
    assertThat(r.checkInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(r.deregisterAfter()).isEqualTo(Duration.ofMinutes(1));
    assertThat(r.utilizationWindow()).contains(Duration.ofSeconds(10));
  }

  @Test
  void parse_everyConsulKey_isRead() throws Exception {
    ConsulConfig consul = parse("""
        consul:
          address: http://127.0.0.1:8500/
          token: abc
          service_name: core-gpu
          service_address: 10.0.3.7
          tier: public
          check_interval: 5s
          deregister_after: 10m
          utilization_window: 30s
        """).consul();

    assertThat(consul).isEqualTo(CoreConfig.CONSUL_DEFAULT.toBuilder().address("http://127.0.0.1:8500").token("abc")
        .serviceName("core-gpu").serviceAddress("10.0.3.7").tier("public").checkInterval(Duration.ofSeconds(5))
        .deregisterAfter(Duration.ofMinutes(10)).utilizationWindow(Duration.ofSeconds(30)).build());
    assertThat(consul.enabled()).isTrue();
  }

  @Test
  void parse_utilizationWindowZero_asDeployCoreYamlDocuments_publishesTheInstantFigure() throws Exception {
    assertThat(window(parse("consul: {utilization_window: 0}"))).isZero();
    assertThat(window(parse("consul: {utilization_window: 1.5s, check_interval: 1d}")))
        .isEqualTo(Duration.ofMillis(1_500));
  }

  @Test
  void parse_consulOverrideAsAFlagGivesIt_enablesRegistration() throws Exception {
    CoreConfig config = CoreConfigLoader.load(null, Map.of("consul.address", "http://consul:8500"));

    assertThat(config.consul()).isEqualTo(CoreConfig.CONSUL_DEFAULT.toBuilder().address("http://consul:8500").build());
  }

  @Test
  void parse_badConsulValues_nameTheKey() {
    assertThatThrownBy(() -> parse("consul: {address: 'consul:8500'}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("consul.address: must be the agent's http(s)://host:port");
    assertThatThrownBy(() -> parse("consul: {tier: burst}"))
        .isInstanceOf(ConfigException.class).hasMessage("consul.tier: must be private or public, got 'burst'");
    assertThatThrownBy(() -> parse("consul: {deregister_after: 30s}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("consul.deregister_after: must be at least 1m");
    assertThatThrownBy(() -> parse("consul: {check_interval: 500ms}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("consul.check_interval: must be at least 1s");
    assertThatThrownBy(() -> parse("consul: {service_name: 'core inference'}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("consul.service_name: must be letters");
    assertThatThrownBy(() -> parse("consul: {utilization_window: -5s}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("consul.utilization_window: must be a duration");
    assertThatThrownBy(() -> parse("consul: {service-name: core}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("consul.service-name: unknown key");
  }
}
