package io.infermesh.edge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.node.testing.FakeConsulAgent;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An edge agent with {@code consul.address} set registers itself (role edge) in the fake Consul
 * agent, passes its TTL check once its model is loaded, publishes its load, and deregisters when
 * closed. The check interval is a minute: every change seen here is pushed, not polled.
 */
class EdgeConsulRegistrationTest {

  private static EdgeConfig withConsul(EdgeConfig config, FakeConsulAgent consul) {
    return config.withConsul(EdgeConfig.CONSUL_DEFAULT.toBuilder().address(consul.address()).serviceAddress("127.0.0.1")
        .checkInterval(Duration.ofMinutes(1)).build());
  }

  @Test
  void start_withConsul_criticalWhileLoading_passingOnceLoaded_deregisteredOnClose() throws Exception {
    try (FakeConsulAgent consul = FakeConsulAgent.start()) {
      EdgeConfig config = withConsul(TinyModel.config(), consul);
      EdgeAgent agent = EdgeAgent.builder(config).start();
      String id = config.node().name();
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> consul.service(id) != null);
        agent.awaitModel(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> "passing".equals(consul.checkStatus("service:" + id)));

        JsonNode registered = consul.service(id);
        assertThat(registered.path("Name").asText()).isEqualTo("edge-inference");
        assertThat(registered.path("Address").asText()).isEqualTo("127.0.0.1");
        assertThat(registered.path("Port").asInt()).as("no gRPC API without TLS: the HTTP port")
            .isEqualTo(agent.httpPort());
        assertThat(registered.path("Meta").path("role").asText()).isEqualTo("edge");
        assertThat(registered.path("Meta").path("region").asText()).isEqualTo(config.node().region());
        assertThat(registered.path("Meta").path("model").asText()).isEqualTo(TinyModel.NAME);
        assertThat(registered.path("Meta").path("http_port").asText()).isEqualTo(String.valueOf(agent.httpPort()));
        assertThat(registered.path("Tags")).extracting(JsonNode::asText).contains("role=edge");
      } finally {
        agent.close();
      }

      assertThat(consul.service(id)).isNull();
      assertThat(consul.requests()).extracting(FakeConsulAgent.Request::path)
          .contains("/v1/agent/service/deregister/" + id);
    }
  }

  @Test
  void load_busySlotAndQueuedRequest_arePublishedInTheMeta() throws Exception {
    FakeEngine engine = new FakeEngine(512, 1);
    try (FakeConsulAgent consul = FakeConsulAgent.start();
        EdgeAgent agent = EdgeAgent.builder(withConsul(TinyModel.config(), consul)).engine(engine).start()) {
      String id = agent.config().node().name();
      await().atMost(Duration.ofSeconds(10)).until(() -> "passing".equals(consul.checkStatus("service:" + id)));
      assertThat(meta(consul, id, "utilization")).isEqualTo("0.00");
      HttpTestClient http = new HttpTestClient(agent.httpPort());
      String body = "{\"model\": \"fake\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
          + " \"max_tokens\": 3, \"temperature\": 1, \"stream\": true}";

      engine.hold();
      CompletableFuture<HttpTestClient.Reply> running =
          CompletableFuture.supplyAsync(() -> http.post("/v1/chat/completions", body));
      assertThat(engine.awaitFirstToken(5000)).isTrue();
      CompletableFuture<HttpTestClient.Reply> queued =
          CompletableFuture.supplyAsync(() -> http.post("/v1/chat/completions", body));

      // one slot busy and one request waiting for it: (1 + 1) / 1 slot, sampled every second
      await().atMost(Duration.ofSeconds(10)).until(() -> "2.00".equals(meta(consul, id, "utilization")));
      assertThat(meta(consul, id, "slots_in_use")).isEqualTo("1");
      assertThat(meta(consul, id, "queue_depth")).isEqualTo("1");
      assertThat(meta(consul, id, "slots")).isEqualTo("1");

      engine.release();
      assertThat(running.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(queued.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> "0.00".equals(meta(consul, id, "utilization")));
      assertThat(meta(consul, id, "slots_in_use")).isEqualTo("0");
    }
  }

  private static String meta(FakeConsulAgent consul, String id, String key) {
    JsonNode s = consul.service(id);
    return s == null ? null : s.path("Meta").path(key).asText(null);
  }
}
