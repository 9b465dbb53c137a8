package io.infermesh.node.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The one {@code consul:} record of edge.yaml, core.yaml and mesh.yaml, and its one reader. */
class ConsulConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ConsulConfig EDGE = ConsulConfig.node("edge-inference").build();
  private static final ConsulConfig CORE = ConsulConfig.node("core-inference")
      .utilizationWindow(Duration.ofSeconds(10)).build();
  private static final ConsulConfig CONTROL = ConsulConfig.controlPlane().build();

  /** Reads {@code json} as the section at {@code path} (e.g. discovery.consul) of a file. */
  private static ConsulConfig read(String path, String json, ConsulConfig defaults) throws Exception {
    ConfigSection s = ConfigSection.root(JSON.readTree(json), "deploy/x.yaml");
    for (String name : path.split("\\.")) {
      s = s.section(name);
    }
    return ConsulConfig.read(s, defaults);
  }

  @Test
  void node_defaults_registerNowhereUntilAnAddressIsSet() {
    assertThat(EDGE.enabled()).isFalse();
    assertThat(EDGE.watch()).isEmpty();
    ConsulConfig.Registration r = EDGE.registration().orElseThrow();
    assertThat(r).isEqualTo(new ConsulConfig.Registration("edge-inference", "", "private", Duration.ofSeconds(10),
        Duration.ofMinutes(1), Optional.empty()));
    assertThat(CORE.registration().orElseThrow().utilizationWindow()).contains(Duration.ofSeconds(10));
  }

  @Test
  void controlPlane_defaults_watchTheLocalAgent() {
    assertThat(CONTROL.address()).isEqualTo("http://127.0.0.1:8500");
    assertThat(CONTROL.port()).isEqualTo(8500);
    assertThat(CONTROL.registration()).isEmpty();
    assertThat(CONTROL.watch()).contains(new ConsulConfig.Watch("", Duration.ofSeconds(30), Duration.ofSeconds(1),
        List.of()));
  }

  @Test
  void build_addressWithTrailingSlashOrSpaces_isNormalized() {
    ConsulConfig c = EDGE.toBuilder().address(" https://consul.internal/ ").build();

    assertThat(c.address()).isEqualTo("https://consul.internal");
    assertThat(c.port()).as("by scheme").isEqualTo(443);
    assertThat(c.enabled()).isTrue();
  }

  @Test
  void build_eachBrokenRule_namesItsKeyAndTheReason() {
    assertThatThrownBy(() -> EDGE.toBuilder().address("10.0.0.1:8500").build())
        .isInstanceOf(ConfigException.class)
        .hasMessage("consul.address: must be the agent's http(s)://host:port, got '10.0.0.1:8500'");
    assertThatThrownBy(() -> EDGE.toBuilder().serviceName("bad name").build())
        .hasMessageStartingWith("consul.service_name: must be letters");
    assertThatThrownBy(() -> EDGE.toBuilder().tier("cloud").build())
        .hasMessage("consul.tier: must be private or public, got 'cloud'");
    assertThatThrownBy(() -> EDGE.toBuilder().checkInterval(Duration.ofMillis(500)).build())
        .hasMessageStartingWith("consul.check_interval: must be at least 1s");
    assertThatThrownBy(() -> EDGE.toBuilder().deregisterAfter(Duration.ofSeconds(30)).build())
        .hasMessageStartingWith("consul.deregister_after: must be at least 1m");
    assertThatThrownBy(() -> CORE.toBuilder().utilizationWindow(Duration.ofSeconds(-1)).build())
        .hasMessageStartingWith("consul.utilization_window: must be a duration >= 0");
    assertThatThrownBy(() -> CONTROL.toBuilder().at("discovery.consul").blockingWait(Duration.ofMinutes(11)).build())
        .hasMessageStartingWith("discovery.consul.wait: must be 1s..10m");
    assertThatThrownBy(() -> CONTROL.toBuilder().retryBackoff(Duration.ZERO).build())
        .hasMessageStartingWith("consul.retry_backoff: must be positive");
  }

  @Test
  void builder_anotherProcesssSetting_isRefused() {
    assertThatThrownBy(() -> CONTROL.toBuilder().tier("public")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("tier");
    assertThatThrownBy(() -> EDGE.toBuilder().services(List.of("a"))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("services");
  }

  @Test
  void read_everyNodeKey_arrives() throws Exception {
    ConsulConfig c = read("consul", """
        {"consul": {"address": "http://127.0.0.1:8500/", "token": "abc", "service_name": "core-gpu",
          "service_address": "10.0.3.7", "tier": "public", "check_interval": "5s", "deregister_after": "10m",
          "utilization_window": "0"}}""", CORE);

    assertThat(c).isEqualTo(new ConsulConfig("http://127.0.0.1:8500", "abc", Optional.of(
        new ConsulConfig.Registration("core-gpu", "10.0.3.7", "public", Duration.ofSeconds(5), Duration.ofMinutes(10),
            Optional.of(Duration.ZERO))), Optional.empty()));
  }

  @Test
  void read_everyControlPlaneKey_arrivesAndErrorsNameTheFullKey() throws Exception {
    ConsulConfig c = read("discovery.consul", """
        {"discovery": {"consul": {"address": "http://consul:8500", "datacenter": "dc2", "wait": "2m",
          "retry_backoff": "250ms", "services": ["core-inference"]}}}""", CONTROL);

    assertThat(c.watch()).contains(new ConsulConfig.Watch("dc2", Duration.ofMinutes(2), Duration.ofMillis(250),
        List.of("core-inference")));
    assertThatThrownBy(() -> read("discovery.consul", "{\"discovery\": {\"consul\": {\"wait\": \"1h\"}}}", CONTROL))
        .hasMessageStartingWith("discovery.consul.wait: must be 1s..10m");
  }

  @Test
  void read_aKeyOfAnotherProcess_isUnknownHere() {
    assertThatThrownBy(() -> read("consul", "{\"consul\": {\"utilization_window\": \"5s\"}}", EDGE))
        .as("an edge publishes its instant load").hasMessageStartingWith("consul.utilization_window: unknown key");
    assertThatThrownBy(() -> read("consul", "{\"consul\": {\"wait\": \"5s\"}}", CORE))
        .hasMessageStartingWith("consul.wait: unknown key");
    assertThatThrownBy(() -> read("discovery.consul", "{\"discovery\": {\"consul\": {\"tier\": \"public\"}}}",
        CONTROL)).hasMessageStartingWith("discovery.consul.tier: unknown key");
  }
}
