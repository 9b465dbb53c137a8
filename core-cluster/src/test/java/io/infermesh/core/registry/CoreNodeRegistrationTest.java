package io.infermesh.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.upstream.FakeOpenAiServer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A real core node ({@code engine: upstream}, so no model has to load) with {@code consul.address}
 * set: it registers its chosen port, turns its check passing once it reports SERVING, and
 * deregisters when closed.
 */
class CoreNodeRegistrationTest {

  @Test
  void start_withConsul_registersTheRealPort_passesWhenServing_andDeregistersOnClose() throws Exception {
    try (TestMesh mesh = new TestMesh("core-consul");
        FakeConsulAgent consul = FakeConsulAgent.start();
        FakeOpenAiServer upstream = new FakeOpenAiServer()) {
      mesh.issue(Role.CORE, "core-c1");
      CoreConfig config = new CoreConfig(new CoreConfig.Node("core-c1", "eu-west"), 0,
          new CoreConfig.Tls(mesh.root().resolve("core-c1"), "core-c1"),
          new CoreConfig.Model("big-model", null, "", "v2", "cpu", 16),
          new CoreConfig.Engine("upstream", upstream.url(), "up-model", Duration.ofSeconds(30), "/v1/models",
              Duration.ofMillis(100), 0),
          CoreConfig.Scheduling.defaults(), CoreConfig.Stage.single(), -1,
          new CoreConfig.Consul(consul.address(), "", "core-inference", "127.0.0.1", "private",
              Duration.ofMinutes(1), Duration.ofMinutes(1)));

      CoreNode node = CoreNode.start(config);
      try {
        ManagedChannel edge = mesh.channel(Role.EDGE, "edge-c1", node.port());
        await().atMost(Duration.ofSeconds(10))
            .until(() -> TestMesh.health(edge, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING);
        // the readiness change is pushed at once, not at the next (one-minute) interval
        await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-c1")));

        JsonNode registered = consul.service("core-c1");
        assertThat(registered.path("Name").asText()).isEqualTo("core-inference");
        assertThat(registered.path("Address").asText()).isEqualTo("127.0.0.1");
        assertThat(registered.path("Port").asInt()).isEqualTo(node.port()).isPositive();
        assertThat(registered.path("Meta").path("region").asText()).isEqualTo("eu-west");
        assertThat(registered.path("Meta").path("model").asText()).isEqualTo("big-model");
        assertThat(registered.path("Meta").path("version").asText()).isEqualTo("v2");
      } finally {
        node.close();
      }

      assertThat(consul.service("core-c1")).isNull();
      assertThat(consul.requests()).last().extracting(FakeConsulAgent.Request::path)
          .isEqualTo("/v1/agent/service/deregister/core-c1");
    }
  }
}
