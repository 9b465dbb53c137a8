package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.engine.ModelLoadException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Liveness and readiness while no model is loaded. */
class ReadinessHttpTest {
  @Test
  void readyz_withoutALoadedModel_is503WhileHealthzIs200() throws Exception {
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config().withModelPath(Path.of("/nonexistent/model.gguf")))
        .start()) {
      HttpTestClient http = new HttpTestClient(agent.httpPort());

      assertThatThrownBy(() -> agent.awaitModel(Duration.ofSeconds(30)))
          .isInstanceOf(ModelLoadException.class)
          .hasMessageContaining("model.path: no readable file at /nonexistent/model.gguf");
      assertThat(http.get("/healthz").status()).isEqualTo(200);
      Reply ready = http.get("/readyz");
      assertThat(ready.status()).isEqualTo(503);
      assertThat(ready.json().get("status").asText()).isEqualTo("loading");
      Reply chat = http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
      assertThat(chat.status()).isEqualTo(503);
      assertThat(chat.json().at("/error/message").asText()).contains("still loading");
      assertThat(http.get("/v1/models").json().get("data")).isEmpty();
    }
  }
}
