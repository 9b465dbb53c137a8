package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.server.NodeStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code infermesh up} with its control plane: the edge finds the core through {@code
 * xds:///core-inference} (grpc-xds; its xDS stream is mTLS with the edge's mesh certificate) and
 * calls it over mTLS.
 *
 * <p>Runs in its own fork (see deploy's pom): the mesh sets this JVM's grpc-xds bootstrap, which
 * grpc-xds reads once per JVM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UpControlPlaneTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final List<String> XDS_TYPES = List.of("LISTENER", "ROUTE", "CLUSTER", "ENDPOINT");

  private Path dir;
  private MeshUp mesh;
  private ControlPlane controlPlane;
  private String base;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("up-control-plane");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(), Duration.ofSeconds(30))
        .withControl(new MeshUp.Control(0, 0)));
    controlPlane = mesh.controlPlane().orElseThrow();
    base = "http://127.0.0.1:" + mesh.edge().httpPort();
  }

  @AfterAll
  void stop() throws Exception {
    if (mesh != null) {
      mesh.close();
    }
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void start_withControlPlane_edgeEscalatesThroughXdsAndTheBootstrapNamesTheControlPlane() {
    assertThat(mesh.escalationTarget()).isEqualTo("xds:///core-inference");
    assertThat(controlPlane.xdsPort()).isPositive();
    assertThat(System.getProperty(MeshUp.BOOTSTRAP_PROPERTY))
        .contains("\"server_uri\": \"127.0.0.1:" + controlPlane.xdsPort() + "\"")
        .contains("\"id\": \"edge-0\"")
        .contains("\"type\": \"infermesh_mtls\"")
        .doesNotContain("insecure");
    // the control plane serves the core this mesh started, in this mesh's region
    assertThat(controlPlane.publisher().state().endpoints()).singleElement().satisfies(e -> {
      assertThat(e.port()).isEqualTo(mesh.corePort());
      assertThat(e.region()).isEqualTo(MeshUp.REGION);
      assertThat(e.model()).isEqualTo(MeshUp.CORE_MODEL);
    });
  }

  @Test
  void chat_modelCoreAndRequireCore_reachTheCoreThroughXds() throws Exception {
    HttpResponse<String> alias = chat("core", Map.of());
    assertThat(alias.statusCode()).as(alias.body()).isEqualTo(200);
    assertThat(alias.headers().firstValue("x-infermesh-route")).hasValue("core");
    assertThat(alias.headers().firstValue("x-infermesh-reason")).hasValue("alias-core");

    // require: core never falls back to the edge, so a 200 here was served by the core
    HttpResponse<String> required = chat("auto", Map.of("x-infermesh-require", "core"));
    assertThat(required.statusCode()).as(required.body()).isEqualTo(200);
    assertThat(required.headers().firstValue("x-infermesh-route")).hasValue("core");
  }

  @Test
  void controlPlane_afterAnEscalation_showsTheEdgesGrpcXdsNodeAckingEveryType() throws Exception {
    assertThat(chat("core", Map.of()).headers().firstValue("x-infermesh-route")).hasValue("core");

    // the ACK of the last response may trail the call by a moment
    eventually(Duration.ofSeconds(5), () -> {
      NodeStatus edge = controlPlane.nodes().nodes().stream().filter(n -> n.nodeId().equals("edge-0")).findFirst()
          .orElseThrow(() -> new AssertionError("edge-0 is not connected: " + controlPlane.nodes().nodes()));
      assertThat(edge.group()).startsWith("grpc");
      assertThat(edge.peer()).as("the xDS stream is mTLS with the edge's identity")
          .isEqualTo("spiffe://" + MeshUp.TRUST_DOMAIN + "/" + MeshUp.REGION + "/edge/" + MeshUp.EDGE_NAME);
      assertThat(edge.nacking()).isFalse();
      for (String type : XDS_TYPES) {
        NodeStatus.TypeStatus t = edge.type(type);
        assertThat(t.ackedVersion()).as(type).isNotEmpty().isEqualTo(t.sentVersion());
        assertThat(t.nacks()).as(type).isZero();
      }
    });
    HttpResponse<String> nodes = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/nodes")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(nodes.statusCode()).isEqualTo(200);
    assertThat(nodes.body()).contains("\"edge-0\"");
  }

  private static void eventually(Duration timeout, Runnable check) {
    await().atMost(timeout).untilAsserted(check::run);
  }

  private HttpResponse<String> chat(String model, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + model
            + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4}"));
    headers.forEach(b::header);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
