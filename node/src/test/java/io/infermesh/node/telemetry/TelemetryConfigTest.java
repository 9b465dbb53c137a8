package io.infermesh.node.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TelemetryConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TelemetryConfig DEFAULTS = TelemetryConfig.off("infermesh-edge");

  private static TelemetryConfig read(String json) throws Exception {
    return TelemetryConfig.read(ConfigSection.root(JSON.readTree(json), "deploy/x.yaml").section("telemetry"),
        DEFAULTS);
  }

  @Test
  void read_nothing_isOff() throws Exception {
    TelemetryConfig c = read("{}");
    assertThat(c.enabled()).isFalse();
    assertThat(c.serviceName()).isEqualTo("infermesh-edge");
    assertThat(c.sampleRatio()).isEqualTo(1.0);
  }

  @Test
  void read_everyKey_isTaken() throws Exception {
    TelemetryConfig c = read("{\"telemetry\": {\"otlp\": {\"endpoint\": \"http://collector:4318/v1/traces\","
        + " \"export_interval\": \"250ms\"}, \"service_name\": \"edge-eu\", \"sample_ratio\": 0.25}}");
    assertThat(c.otlpEndpoint()).contains(URI.create("http://collector:4318/v1/traces"));
    assertThat(c.exportInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.serviceName()).isEqualTo("edge-eu");
    assertThat(c.sampleRatio()).isEqualTo(0.25);
    assertThat(c.enabled()).isTrue();
  }

  @Test
  void read_ratioAboveOne_namesTheKey() {
    assertThatThrownBy(() -> read("{\"telemetry\": {\"sample_ratio\": 1.5}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("telemetry.sample_ratio");
  }

  @Test
  void read_endpointWithoutHttp_namesTheKey() {
    assertThatThrownBy(() -> read("{\"telemetry\": {\"otlp\": {\"endpoint\": \"collector:4317\"}}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("telemetry.otlp.endpoint");
  }

  @Test
  void read_unknownKey_isRefused() {
    assertThatThrownBy(() -> read("{\"telemetry\": {\"otlp\": {\"protocol\": \"grpc\"}}}"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("telemetry.otlp.protocol");
  }
}
