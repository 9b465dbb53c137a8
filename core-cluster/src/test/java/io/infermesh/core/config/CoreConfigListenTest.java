package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code grpc.address} and {@code metrics.address}: where a core node's servers listen. */
class CoreConfigListenTest {
  private static CoreConfig parse(String yaml) throws Exception {
    return CoreYaml.parse(yaml);
  }

  @Test
  void parse_noAddresses_grpcOnEveryInterfaceMetricsOnLoopback() throws Exception {
    CoreConfig.Listen listen = parse("node: {name: core-0}").listen();

    assertThat(listen).isEqualTo(CoreConfig.Listen.DEFAULT);
    assertThat(listen.grpc()).isEqualTo("0.0.0.0");
    assertThat(listen.metrics()).as("plain HTTP stays off the network unless asked for").isEqualTo("127.0.0.1");
  }

  @Test
  void parse_bothAddresses_areRead() throws Exception {
    CoreConfig.Listen listen = parse("""
        grpc: {port: 9443, address: 10.0.3.7}
        metrics: {port: 9464, address: 0.0.0.0}
        """).listen();

    assertThat(listen).isEqualTo(new CoreConfig.Listen("10.0.3.7", "0.0.0.0"));
  }

  @Test
  void load_addressOverride_likeAFlag_isApplied() throws Exception {
    CoreConfig config = CoreConfigLoader.load(null, Map.of("grpc.address", "127.0.0.1"));

    assertThat(config.listen().grpc()).isEqualTo("127.0.0.1");
  }

  @Test
  void parse_addressWithAPortOrSpaces_failsNamingTheKey() {
    assertThatThrownBy(() -> parse("metrics: {address: '127.0.0.1 x'}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("metrics.address");
    assertThatThrownBy(() -> parse("grpc: {address: ''}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("grpc.address");
    assertThatThrownBy(() -> parse("grpc: {addres: 127.0.0.1}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("grpc.addres").hasMessageContaining("unknown key");
  }
}
