package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.xds.config.ConsulSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.FakeConsul;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The registration a core node sends (core-cluster's {@code ConsulRegistration}; the body below is
 * its {@code ConsulRegistrationTest.EXPECTED_BODY}, keep them in step) is what this discovery
 * reads back: registered through the fake agent's register endpoint, reported passing to its TTL
 * check, then watched. The real-agent scenario ({@link ConsulRealAgentTest}) runs here against the
 * fake agent too, so it is exercised on every build.
 */
class CoreRegistrationShapeTest {

  private static final String CORE_REGISTRATION = """
      {"ID": "core-us-7", "Name": "core-inference",
       "Tags": ["region=us-east", "tier=public", "model=llama", "version=v3"],
       "Address": "10.0.3.7", "Port": 9443,
       "Meta": {"region": "us-east", "tier": "public", "model": "llama", "version": "v3", "utilization": "0.87"},
       "Check": {"CheckID": "service:core-us-7", "Name": "core node core-us-7 ready (grpc.health.v1 SERVING)",
                 "TTL": "15s", "Status": "critical", "DeregisterCriticalServiceAfter": "2m"}}
      """;

  @Test
  void coreRegistration_onceItsCheckPasses_isDiscoveredWithEveryAttribute() throws Exception {
    try (FakeConsul consul = FakeConsul.start()) {
      ConsulSettings settings = new ConsulSettings(URI.create(consul.address()), "", "", Duration.ofSeconds(2),
          Duration.ofMillis(100), List.of());
      List<List<MeshEndpoint>> seen = new CopyOnWriteArrayList<>();
      try (ConsulEndpointSource source = new ConsulEndpointSource(settings, List.of("core-inference"),
          region -> Optional.empty(), new SimpleMeterRegistry(), null)) {
        source.start(seen::add);
        HttpResponse<String> put = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create(consul.address() + "/v1/agent/service/register"))
                .PUT(HttpRequest.BodyPublishers.ofString(CORE_REGISTRATION)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).isEqualTo(200);
        assertThat(consul.instance("core-us-7").checkStatus).as("a TTL check starts critical").isEqualTo("critical");

        // the node's first report to its TTL check
        HttpResponse<String> report = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create(consul.address() + "/v1/agent/check/update/service:core-us-7"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"Status\": \"passing\", \"Output\": \"SERVING\"}")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(report.statusCode()).isEqualTo(200);

        MeshEndpoint expected = MeshEndpoint.builder("core-inference", "10.0.3.7", 9443, "us-east")
            .id("core-us-7").tier(Tier.PUBLIC).model("llama").version("v3").utilization(0.87).build();
        await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty() && !seen.get(seen.size() - 1).isEmpty());
        assertThat(seen.get(seen.size() - 1)).containsExactly(expected);
      }
    }
  }

  @Test
  void realAgentScenario_againstTheFakeAgent_registersReportsDiscoversAndDeregisters() throws Exception {
    try (FakeConsul consul = FakeConsul.start()) {
      ConsulRealAgentTest.registerDiscoverDeregister(URI.create(consul.address()), "");
      assertThat(consul.requests()).anyMatch(r -> r.startsWith("PUT /v1/agent/check/update/service:infermesh-it-"));
    }
  }
}
