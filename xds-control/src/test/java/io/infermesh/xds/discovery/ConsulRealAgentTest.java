package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.xds.config.ConsulSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.TestBackend;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Registration and discovery against a real Consul agent, when {@code CONSUL_HTTP_ADDR} names one
 * (e.g. {@code http://127.0.0.1:8500}; {@code CONSUL_HTTP_TOKEN} is used if set). No Consul can
 * be installed on the build machine, so without the variable this says so plainly: the module
 * POM runs this class with its output on the console, and the test's own name reads "NOT RUN".
 */
class ConsulRealAgentTest {

  @TestFactory
  Stream<DynamicTest> realConsulAgent() {
    String address = System.getenv("CONSUL_HTTP_ADDR");
    if (address == null || address.isBlank()) {
      String message = "ConsulRealAgentTest: NOT RUN against a real Consul agent: CONSUL_HTTP_ADDR is not set "
          + "(the fake-Consul tests cover the protocol; set CONSUL_HTTP_ADDR=http://host:8500 to run this one)";
      System.out.println(message);
      return Stream.of(DynamicTest.dynamicTest(
          "NOT RUN: CONSUL_HTTP_ADDR is not set, no real Consul agent to test against",
          () -> assertThat(System.getenv("CONSUL_HTTP_ADDR")).isNullOrEmpty()));
    }
    URI uri = URI.create(address.contains("://") ? address : "http://" + address);
    return Stream.of(DynamicTest.dynamicTest("real Consul agent at " + uri + ": register, discover, deregister",
        () -> registerDiscoverDeregister(uri)));
  }

  private static void registerDiscoverDeregister(URI uri) throws Exception {
    String token = Optional.ofNullable(System.getenv("CONSUL_HTTP_TOKEN")).orElse("");
    String service = "infermesh-it-" + UUID.randomUUID().toString().substring(0, 8);
    ConsulSettings settings = new ConsulSettings(uri, token, "", Duration.ofSeconds(5), Duration.ofMillis(200), List.of());
    System.out.println("ConsulRealAgentTest: running against " + uri + " with service " + service);
    try (TestBackend backend = TestBackend.start("consul-it", "eu-west", "a", Tier.PRIVATE, "v1")) {
      MeshEndpoint self = MeshEndpoint.builder(service, "127.0.0.1", backend.endpoint().port(), "eu-west")
          .id(service + "-1").zone("a").version("v1").build();
      List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
      try (ConsulEndpointSource source = new ConsulEndpointSource(settings, List.of(service),
          r -> Optional.empty(), new SimpleMeterRegistry(), null)) {
        source.start(seen::add);
        ConsulRegistrar registrar = new ConsulRegistrar(settings, Duration.ofSeconds(1), false);
        try {
          registrar.register(self);
          // Consul runs the gRPC health check against the backend, then the instance is passing
          await().atMost(Duration.ofSeconds(30)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).contains(self));
        } finally {
          registrar.close();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> seen.get(seen.size() - 1).isEmpty());
        assertThat(source.stale()).isFalse();
      }
    }
  }
}
