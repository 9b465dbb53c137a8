package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponse;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FilePurpose;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI SDK's batch flow against {@code infermesh up} (the whole mesh on loopback, tiny
 * models): {@code files.create}, {@code batches.create}, {@code batches.retrieve}, {@code
 * files.content}; lines are routed like any request, so those naming the core are answered there.
 */
class BatchMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Path dir;
  private static MeshUp mesh;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("batch-mesh");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)));
    client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + mesh.edge().httpPort() + "/v1")
        .apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (mesh != null) {
      mesh.close();
    }
  }

  @Test
  void sdkBatchFlow_linesRoutedToTheEdgeAndTheCore() throws Exception {
    StringBuilder in = new StringBuilder();
    for (int i = 0; i < 10; i++) {
      in.append("{\"custom_id\": \"m").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\","
          + " \"body\": {\"model\": \"").append(i % 2 == 0 ? "edge" : "core").append("\", \"messages\": [{\"role\":"
          + " \"user\", \"content\": \"hello\"}], \"max_tokens\": 2}}\n");
    }
    Path file = Files.writeString(dir.resolve("in.jsonl"), in.toString());
    String fileId = client.files().create(FileCreateParams.builder().file(file).purpose(FilePurpose.BATCH).build()).id();
    String id = client.batches().create(BatchCreateParams.builder().inputFileId(fileId)
        .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build()).id();

    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
        .until(() -> client.batches().retrieve(id).status().equals(Batch.Status.COMPLETED));

    Batch done = client.batches().retrieve(id);
    assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(10);
    Map<String, String> models = new HashMap<>();
    try (HttpResponse r = client.files().content(done.outputFileId().orElseThrow()); InputStream body = r.body()) {
      for (String line : new String(body.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        JsonNode out = JSON.readTree(line);
        models.put(out.get("custom_id").asText(), out.at("/response/body/model").asText());
      }
    }
    assertThat(models).hasSize(10);
    assertThat(models.get("m0")).isEqualTo(mesh.edge().service().model().orElseThrow().name());
    assertThat(models.get("m1")).isNotEqualTo(models.get("m0"));
  }
}
