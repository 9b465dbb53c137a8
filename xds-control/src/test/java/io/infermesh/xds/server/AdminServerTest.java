package io.infermesh.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.testing.TestMeshes;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminServerTest {

  private ControlPlane controlPlane;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    MeshEndpoint hot = MeshEndpoint.builder("core-inference", "10.0.0.1", 9443, TestMeshes.EU).utilization(0.95).build();
    MeshEndpoint pub = MeshEndpoint.builder("core-inference", "10.0.9.1", 9443, TestMeshes.PUBLIC)
        .tier(io.infermesh.xds.snapshot.Tier.PUBLIC).build();
    controlPlane = ControlPlane.builder(TestMeshes.config(TestMeshes.policy(), List.of(hot, pub))).start();
  }

  @AfterAll
  void stop() {
    controlPlane.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + controlPlane.adminPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthz_afterFirstPublish_isOk() throws Exception {
    HttpResponse<String> r = get("/healthz");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("ok\n");
  }

  @Test
  void snapshots_listEveryGroupWithVersionsAndCounts() throws Exception {
    JsonNode body = new ObjectMapper().readTree(get("/snapshots").body());
    assertThat(body.has("grpc/eu-west")).isTrue();
    assertThat(body.has("envoy/*")).isTrue();
    JsonNode lds = body.get("grpc/eu-west").get("LISTENER");
    assertThat(lds.get("resources").asInt()).isEqualTo(1);
    assertThat(lds.get("version").asText()).hasSize(16);
  }

  @Test
  void mesh_showsEndpointsAndBurstShares() throws Exception {
    JsonNode body = new ObjectMapper().readTree(get("/mesh").body());
    assertThat(body.get("endpoints")).hasSize(2);
    assertThat(body.get("endpoints").get(0).get("region").asText()).isNotEmpty();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() ->
        new ObjectMapper().readTree(get("/mesh").body()).get("burstShares").has("core-inference@eu-west"));
  }

  @Test
  void metrics_arePrometheusText() throws Exception {
    String body = get("/metrics").body();
    assertThat(body).contains("infermesh_xds_snapshot_build_seconds_count").contains("jvm_memory_used_bytes");
  }

  @Test
  void post_isRefused() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/nodes"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(405);
  }
}
