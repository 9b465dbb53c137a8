package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.xds.config.ConsulSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.FakeConsul;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** {@link ConsulRegistrar} against {@link FakeConsul}, read back through {@link ConsulEndpointSource}. */
class ConsulRegistrarTest {

  @Test
  void register_thenCheckPasses_isDiscoveredWithItsAttributes_andCloseDeregisters() throws Exception {
    try (FakeConsul consul = FakeConsul.start()) {
      ConsulSettings settings = new ConsulSettings(URI.create(consul.address()), "", "", Duration.ofSeconds(2),
          Duration.ofMillis(100), List.of());
      MeshEndpoint self = MeshEndpoint.builder("core-inference", "10.0.3.7", 9443, "us-east")
          .id("core-us-7").zone("b").tier(Tier.PRIVATE).model("llama").version("v3").utilization(0.25).build();
      List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
      try (ConsulEndpointSource source = new ConsulEndpointSource(settings, List.of("core-inference"),
          r -> Optional.empty(), new SimpleMeterRegistry(), null)) {
        source.start(seen::add);
        ConsulRegistrar registrar = new ConsulRegistrar(settings, Duration.ofSeconds(5), true);
        registrar.register(self);

        FakeConsul.Instance registered = consul.instance("core-us-7");
        assertThat(registered.meta).containsEntry("region", "us-east").containsEntry("zone", "b")
            .containsEntry("tier", "private").containsEntry("version", "v3").containsEntry("utilization", "0.25");
        assertThat(registered.tags).contains("region=us-east", "version=v3");
        assertThat(registered.registeredCheck.path("GRPC").asText()).isEqualTo("10.0.3.7:9443");
        assertThat(registered.registeredCheck.path("GRPCUseTLS").asBoolean()).isTrue();
        assertThat(registered.registeredCheck.path("DeregisterCriticalServiceAfter").asText()).isEqualTo("1m");

        // a new check is critical until Consul has run it: not routable yet
        Thread.sleep(300);
        assertThat(seen.isEmpty() || seen.get(seen.size() - 1).isEmpty()).isTrue();
        consul.setCheckStatus("core-us-7", "passing");
        await().atMost(Duration.ofSeconds(3)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).contains(self));

        registrar.reportUtilization(0.9);
        await().atMost(Duration.ofSeconds(3)).until(() -> seen.get(seen.size() - 1).contains(self.withUtilization(0.9)));

        registrar.close();
        assertThat(consul.instance("core-us-7")).isNull();
        await().atMost(Duration.ofSeconds(3)).until(() -> seen.get(seen.size() - 1).isEmpty());
      }
    }
  }
}
