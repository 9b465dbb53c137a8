package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.certs.Role;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.registration.ConsulRegistration;
import io.infermesh.node.registration.RegistrationSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.FakeConsul;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link ConsulRegistration} sends (the real registration, not a copy of its body) is what
 * this discovery reads back: registered through the fake agent, reported to its TTL check, then
 * watched. The real-agent scenario ({@link ConsulRealAgentTest}) runs here against the fake agent
 * too, so it is exercised on every build.
 */
class CoreRegistrationShapeTest {

  private FakeConsul consul;
  private ScheduledExecutorService executor;
  private final AtomicBoolean ready = new AtomicBoolean();

  @BeforeEach
  void start() throws Exception {
    consul = FakeConsul.start();
    executor = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void stop() {
    executor.shutdownNow();
    consul.close();
  }

  private RegistrationSettings.Builder node(String service, String id, Role role) {
    return RegistrationSettings.builder(consul.address(), service, id, role)
        .placement("us-east", "public")
        .model("llama", "v3")
        .timing(Duration.ofMinutes(1), Duration.ofMinutes(2));
  }

  /** Watches {@code services}, expecting core servers for core-inference and edge ones for edge-inference. */
  private ConsulEndpointSource watch(List<List<MeshEndpoint>> seen, String... services) {
    ConsulConfig settings = ConsulConfig.controlPlane().address(consul.address()).blockingWait(Duration.ofSeconds(2))
        .retryBackoff(Duration.ofMillis(100)).build();
    ConsulEndpointSource source = new ConsulEndpointSource(settings, List.of(services), region -> Optional.empty(),
        service -> Optional.of(service.startsWith("edge") ? "edge" : "core"), new SimpleMeterRegistry(), null);
    source.start(seen::add);
    return source;
  }

  @Test
  void coreRegistration_onceItsCheckPasses_isDiscoveredWithEveryAttribute() {
    List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
    try (ConsulEndpointSource source = watch(seen, "core-inference");
        ConsulRegistration registration = ConsulRegistration.start(
            node("core-inference", "core-us-7", Role.CORE).endpoint("10.0.3.7", 9443).build(), ready::get, executor)) {
      registration.utilization(0.87);
      await().atMost(Duration.ofSeconds(5)).until(() -> consul.instance("core-us-7") != null);
      assertThat(consul.instance("core-us-7").checkStatus).as("a TTL check starts critical").isEqualTo("critical");

      ready.set(true);
      registration.reportNow();

      MeshEndpoint expected = MeshEndpoint.builder("core-inference", "10.0.3.7", 9443, "us-east")
          .id("core-us-7").tier(Tier.PUBLIC).model("llama").version("v3").utilization(0.87).build();
      await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty() && !seen.get(seen.size() - 1).isEmpty());
      assertThat(seen.get(seen.size() - 1)).containsExactly(expected);
    }
  }

  @Test
  void edgeRegistration_underTheCoreServiceName_isNotRouted_underItsOwnServiceIs() {
    List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
    ready.set(true);
    try (ConsulEndpointSource source = watch(seen, "core-inference", "edge-inference");
        ConsulRegistration core = ConsulRegistration.start(
            node("core-inference", "core-1", Role.CORE).endpoint("10.0.3.1", 9443).build(), ready::get, executor);
        ConsulRegistration misnamedEdge = ConsulRegistration.start(
            node("core-inference", "edge-9", Role.EDGE).endpoint("10.0.9.9", 9090).build(), ready::get, executor);
        ConsulRegistration edge = ConsulRegistration.start(
            node("edge-inference", "edge-1", Role.EDGE).endpoint("10.0.9.1", 9090).build(), ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> List.of("core-1", "edge-9", "edge-1").stream()
          .allMatch(id -> consul.instance(id) != null && "passing".equals(consul.instance(id).checkStatus)));
      await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).size() == 2);
      int rounds = consul.requests().size();
      // three more blocking-query rounds answered: the misnamed edge must never appear in any of them
      await().atMost(Duration.ofSeconds(10)).until(() -> consul.requests().size() >= rounds + 3);

      assertThat(seen.get(seen.size() - 1)).extracting(MeshEndpoint::service, MeshEndpoint::id)
          .containsExactlyInAnyOrder(
              org.assertj.core.groups.Tuple.tuple("core-inference", "core-1"),
              org.assertj.core.groups.Tuple.tuple("edge-inference", "edge-1"));
      assertThat(seen).allSatisfy(endpoints -> assertThat(endpoints).extracting(MeshEndpoint::id).doesNotContain("edge-9"));
    }
  }

  @Test
  void realAgentScenario_againstTheFakeAgent_registersReportsDiscoversAndDeregisters() throws Exception {
    ConsulRealAgentTest.registerDiscoverDeregister(URI.create(consul.address()), "");
    assertThat(consul.requests()).anyMatch(r -> r.startsWith("PUT /v1/agent/check/update/service%3Ainfermesh-it-"));
  }
}
