package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The builders: named defaults, the same values the loader gives an empty file, failures naming the key. */
class EdgeConfigBuilderTest {

  @Test
  void builder_nothingSet_isAnEmptyEdgeYaml() {
    assertThat(EdgeConfig.builder().build()).isEqualTo(EdgeConfigLoader.parse("", Path.of("/etc/infermesh")));
    assertThat(EdgeConfig.Model.builder().build()).isEqualTo(EdgeConfig.Model.DEFAULT);
    assertThat(EdgeConfig.Http.builder().build()).isEqualTo(EdgeConfig.Http.DEFAULT);
    assertThat(Escalation.builder().build()).isEqualTo(Escalation.NONE);
    assertThat(Routing.builder().build()).isEqualTo(Routing.DEFAULT);
  }

  @Test
  void toBuilder_oneSettingChanged_keepsEveryOther() {
    EdgeConfig.Model model = EdgeConfig.Model.builder().path(Path.of("m.gguf")).name("m").contextSize(4096)
        .threads(3).parallel(2).chatTemplate("llama3").defaultMaxTokens(64).build();

    EdgeConfig.Model changed = model.toBuilder().parallel(4).build();

    assertThat(changed.parallel()).isEqualTo(4);
    assertThat(changed.toBuilder().parallel(2).build()).isEqualTo(model);
    EdgeConfig config = EdgeConfig.builder().model(model).limits(Limits.builder().maxConnections(7).build()).build();
    assertThat(config.toBuilder().build()).isEqualTo(config);
    assertThat(config.withHttpPort(0).limits().maxConnections()).isEqualTo(7);
  }

  @Test
  void build_brokenRule_failsFastNamingTheKey() {
    assertThatThrownBy(() -> EdgeConfig.Model.builder().contextSize(16).build()).isInstanceOf(ConfigException.class)
        .hasMessage("model.context_size: must be in [64, 1048576] tokens, got 16");
    assertThatThrownBy(() -> EdgeConfig.Http.builder().port(70_000).build())
        .hasMessageStartingWith("http.port: must be a port number");
    assertThatThrownBy(() -> EdgeConfig.HttpTls.builder(null, Path.of("e.key")).build())
        .hasMessageStartingWith("http.tls.cert: is required");
    assertThatThrownBy(() -> EdgeConfig.Tenant.builder("acme").build())
        .hasMessage("auth.tenants.keys: tenant 'acme' needs at least one key");
    assertThatThrownBy(() -> Escalation.builder().maxAttempts(9).build())
        .hasMessage("escalation.max_attempts: must be in 1..5, got 9");
    assertThatThrownBy(() -> Routing.builder().scorer("learned").build())
        .hasMessageStartingWith("routing.training_file: is required");
    assertThatThrownBy(() -> Limits.builder().idleTimeout(Duration.ZERO).build())
        .hasMessageStartingWith("limits.idle_timeout: must be positive");
    assertThatThrownBy(() -> Cascade.builder().samples(1).build())
        .hasMessage("routing.cascade.samples: must be at least 2, got 1");
  }

  @Test
  void httpTlsBuilder_clientAuth_defaultsToRequireWithACaAsTheFileDoes() {
    EdgeConfig.HttpTls withCa = EdgeConfig.HttpTls.builder(Path.of("e.crt"), Path.of("e.key"))
        .clientCa(Path.of("ca.crt")).build();
    EdgeConfig.HttpTls withoutCa = EdgeConfig.HttpTls.builder(Path.of("e.crt"), Path.of("e.key")).build();

    assertThat(withCa.clientAuth()).isEqualTo(EdgeConfig.ClientAuth.REQUIRE);
    assertThat(withoutCa.clientAuth()).isEqualTo(EdgeConfig.ClientAuth.NONE);
    assertThat(withoutCa.refreshPeriod()).isEqualTo(EdgeConfig.HttpTls.DEFAULT_REFRESH_PERIOD);
  }
}
