package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.certs.Role;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.registration.ConsulRegistration;
import io.infermesh.node.registration.RegistrationSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Registration and discovery against a real Consul agent, when {@code CONSUL_HTTP_ADDR} names one
 * (e.g. {@code http://127.0.0.1:8500}; {@code CONSUL_HTTP_TOKEN} is used if set). No Consul can
 * be installed on the build machine, so without the variable this says so plainly: the module
 * POM runs this class with its output on the console, and the test's own name reads "NOT RUN".
 *
 * <p>It registers with {@link ConsulRegistration}, as every edge and core node does: meta and
 * {@code key=value} tags, a TTL check that starts critical, a report of passing, and
 * deregistration on close.
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
    return Stream.of(DynamicTest.dynamicTest(
        "real Consul agent at " + uri + ": register (TTL check), report passing, discover, deregister",
        () -> registerDiscoverDeregister(uri, Optional.ofNullable(System.getenv("CONSUL_HTTP_TOKEN")).orElse(""))));
  }

  /**
   * The scenario, with the registration every node uses ({@link ConsulRegistration}): registered
   * with a TTL check that starts critical, so not routable until the node reports ready, then
   * discovered with its attributes, then gone after deregistration. {@link
   * CoreRegistrationShapeTest} also runs it against the fake agent on every build.
   */
  static void registerDiscoverDeregister(URI uri, String token) throws Exception {
    String service = "infermesh-it-" + UUID.randomUUID().toString().substring(0, 8);
    String id = service + "-1";
    ConsulConfig settings = ConsulConfig.controlPlane().address(uri.getScheme() + "://" + uri.getAuthority()).token(token)
        .blockingWait(Duration.ofSeconds(5)).retryBackoff(Duration.ofMillis(200)).build();
    System.out.println("ConsulRealAgentTest: registering service " + service + " with " + uri);
    MeshEndpoint self = MeshEndpoint.builder(service, "127.0.0.1", 9443, "eu-west")
        .id(id).tier(Tier.PRIVATE).model("llama").version("v1").build();
    RegistrationSettings registration = RegistrationSettings.builder(
            uri.getScheme() + "://" + uri.getAuthority(), service, id, Role.CORE)
        .token(token)
        .endpoint("127.0.0.1", 9443)
        .placement("eu-west", "private")
        .model("llama", "v1")
        .readiness("grpc.health.v1 SERVING")
        .timing(Duration.ofSeconds(5), Duration.ofMinutes(1))
        .build();
    AtomicBoolean ready = new AtomicBoolean();
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
    try (ConsulEndpointSource source = new ConsulEndpointSource(settings, List.of(service),
        r -> Optional.empty(), s -> Optional.of("core"), new SimpleMeterRegistry(), null)) {
      source.start(seen::add);
      try (ConsulRegistration node = ConsulRegistration.start(registration, ready::get, executor)) {
        Thread.sleep(1_000);
        assertThat(seen.isEmpty() || !seen.get(seen.size() - 1).contains(self))
            .as("a TTL check starts critical: not routable before the node reports").isTrue();

        ready.set(true);
        node.reportNow();
        await().atMost(Duration.ofSeconds(30)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).contains(self));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> seen.get(seen.size() - 1).isEmpty());
      assertThat(source.stale()).isFalse();
    } finally {
      executor.shutdownNow();
    }
  }
}
