package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.xds.config.ConsulSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 *
 * <p>It registers the way a core node does (core-cluster's {@code ConsulRegistration}, whose body
 * {@link CoreRegistrationShapeTest} pins): meta and {@code key=value} tags, a TTL check that starts
 * critical, one {@code PUT /v1/agent/check/update/service:<id>} reporting passing, and
 * deregistration — through Consul's HTTP API, since xds-control does not depend on core-cluster.
 */
class ConsulRealAgentTest {

  private static final ObjectMapper JSON = new ObjectMapper();

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
   * The scenario: register in core's shape, not routable until the node reports passing, then
   * discovered with its attributes, then gone after deregistration. {@link
   * CoreRegistrationShapeTest} also runs it against the fake agent on every build.
   */
  static void registerDiscoverDeregister(URI uri, String token) throws Exception {
    String service = "infermesh-it-" + UUID.randomUUID().toString().substring(0, 8);
    String id = service + "-1";
    ConsulSettings settings = new ConsulSettings(uri, token, "", Duration.ofSeconds(5), Duration.ofMillis(200), List.of());
    System.out.println("ConsulRealAgentTest: registering service " + service + " with " + uri);
    MeshEndpoint self = MeshEndpoint.builder(service, "127.0.0.1", 9443, "eu-west")
        .id(id).tier(Tier.PRIVATE).model("llama").version("v1").build();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
    try (ConsulEndpointSource source = new ConsulEndpointSource(settings, List.of(service),
        r -> Optional.empty(), new SimpleMeterRegistry(), null)) {
      source.start(seen::add);
      try {
        assertThat(put(http, uri, token, "/v1/agent/service/register", coreShapedRegistration(self))).isEqualTo(200);
        Thread.sleep(500);
        assertThat(seen.isEmpty() || !seen.get(seen.size() - 1).contains(self))
            .as("a TTL check starts critical: not routable before the node reports").isTrue();

        ObjectNode passing = JSON.createObjectNode().put("Status", "passing").put("Output", "SERVING");
        assertThat(put(http, uri, token, "/v1/agent/check/update/service:" + id, passing.toString())).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).contains(self));
      } finally {
        put(http, uri, token, "/v1/agent/service/deregister/" + id, "");
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> seen.get(seen.size() - 1).isEmpty());
      assertThat(source.stale()).isFalse();
    }
  }

  /** The body core-cluster's {@code ConsulRegistration.registrationBody} sends, for {@code e}. */
  private static String coreShapedRegistration(MeshEndpoint e) {
    ObjectNode body = JSON.createObjectNode();
    body.put("ID", e.id());
    body.put("Name", e.service());
    ObjectNode meta = JSON.createObjectNode()
        .put("region", e.region()).put("tier", e.tier().yamlName()).put("model", e.model()).put("version", e.version());
    var tags = body.putArray("Tags");
    meta.fields().forEachRemaining(f -> tags.add(f.getKey() + "=" + f.getValue().asText()));
    body.put("Address", e.host());
    body.put("Port", e.port());
    body.set("Meta", meta);
    body.putObject("Check")
        .put("CheckID", "service:" + e.id())
        .put("Name", "core node " + e.id() + " ready (grpc.health.v1 SERVING)")
        .put("TTL", "15s")
        .put("Status", "critical")
        .put("DeregisterCriticalServiceAfter", "1m");
    return body.toString();
  }

  private static int put(HttpClient http, URI agent, String token, String path, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(agent.resolve(path))
        .timeout(Duration.ofSeconds(5))
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(body));
    if (!token.isEmpty()) {
      request.header("X-Consul-Token", token);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }
}
