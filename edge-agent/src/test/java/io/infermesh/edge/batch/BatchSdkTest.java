package io.infermesh.edge.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.config.EdgeConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Files and Batch APIs on a real edge (tiny model, SQLite store in a temp dir) through the
 * official OpenAI Java SDK: {@code files.create}, {@code batches.create}, {@code batches.retrieve},
 * {@code files.content}; validation up front; per-line errors; tenants apart; cancel.
 */
class BatchSdkTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ACME = "sk-acme-batch";
  private static final String GLOBEX = "sk-globex-batch";

  @TempDir static Path dir;

  private static EdgeAgent agent;
  private static OpenAIClient acme;
  private static OpenAIClient globex;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    EdgeConfig config = TinyModel.config()
        .withAuth(new EdgeConfig.Auth(List.of(EdgeConfig.Tenant.builder("acme").keys(ACME).build(),
            EdgeConfig.Tenant.builder("globex").keys(GLOBEX).build())))
        .withBatch(new Batches(true, Batches.Store.SQLITE, Optional.of(dir.resolve("data")), "", "", "", 2,
            64 * 1024, 1000, Duration.ofHours(24), Duration.ofMinutes(1)));
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    acme = SdkEdge.client(agent, ACME);
    globex = SdkEdge.client(agent, GLOBEX);
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    acme.close();
    globex.close();
    agent.close();
  }

  private static Path jsonl(String name, int lines, IntFunction<String> line) throws IOException {
    StringBuilder out = new StringBuilder();
    for (int i = 1; i <= lines; i++) {
      out.append(line.apply(i)).append('\n');
    }
    return Files.writeString(dir.resolve(name), out.toString());
  }

  private static String chatLine(int i) {
    return "{\"custom_id\": \"req-" + i + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": "
        + "{\"model\": \"tiny-edge\", \"messages\": [{\"role\": \"user\", \"content\": \"hi " + i + "\"}],"
        + " \"max_tokens\": 2" + (i == 7 ? ", \"temperature\": 5" : "") + "}}";
  }

  private static FileObject upload(OpenAIClient client, Path file) {
    return client.files().create(FileCreateParams.builder().file(file).purpose(FilePurpose.BATCH).build());
  }

  private static Batch create(OpenAIClient client, String fileId, BatchCreateParams.Endpoint endpoint) {
    return client.batches().create(BatchCreateParams.builder().inputFileId(fileId).endpoint(endpoint)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build());
  }

  private static Batch awaitStatus(OpenAIClient client, String id, Batch.Status status) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
        .until(() -> client.batches().retrieve(id).status().equals(status));
    return client.batches().retrieve(id);
  }

  private static List<JsonNode> lines(OpenAIClient client, String fileId) {
    try (HttpResponse r = client.files().content(fileId); InputStream in = r.body()) {
      List<JsonNode> out = new ArrayList<>();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        out.add(JSON.readTree(line));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void sdkFlow_chatBatch_completesWithEveryCustomIdOnce_andTheBadLineInTheErrorFile() throws Exception {
    FileObject file = upload(acme, jsonl("chat.jsonl", 30, BatchSdkTest::chatLine));
    assertThat(file.purpose()).isEqualTo(FileObject.Purpose.BATCH);
    assertThat(file.filename()).isEqualTo("chat.jsonl");

    Batch created = create(acme, file.id(), BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS);
    created.validate();
    Batch done = awaitStatus(acme, created.id(), Batch.Status.COMPLETED);

    assertThat(done.requestCounts().orElseThrow().total()).isEqualTo(30);
    assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(29);
    assertThat(done.requestCounts().orElseThrow().failed()).isEqualTo(1);
    List<JsonNode> output = lines(acme, done.outputFileId().orElseThrow());
    assertThat(output).hasSize(29);
    assertThat(output).extracting(l -> l.get("custom_id").asText()).doesNotHaveDuplicates().doesNotContain("req-7");
    JsonNode first = output.get(0);
    assertThat(first.get("id").asText()).startsWith("batch_req_");
    assertThat(first.at("/response/status_code").asInt()).isEqualTo(200);
    assertThat(first.at("/response/body/object").asText()).isEqualTo("chat.completion");
    assertThat(first.at("/response/body/usage/completion_tokens").asInt()).isBetween(1, 2);
    assertThat(first.get("error").isNull()).isTrue();
    List<JsonNode> errors = lines(acme, done.errorFileId().orElseThrow());
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).get("custom_id").asText()).isEqualTo("req-7");
    assertThat(errors.get(0).at("/response/status_code").asInt()).isEqualTo(400);
    assertThat(errors.get(0).at("/response/body/error/param").asText()).isEqualTo("temperature");
  }

  @Test
  void embeddingsBatch_answersEachLineWithItsVector() throws Exception {
    Path input = jsonl("emb.jsonl", 3, i -> "{\"custom_id\": \"e" + i + "\", \"method\": \"POST\", \"url\":"
        + " \"/v1/embeddings\", \"body\": {\"model\": \"tiny-edge\", \"input\": \"text " + i + "\"}}");
    Batch created = create(acme, upload(acme, input).id(), BatchCreateParams.Endpoint.V1_EMBEDDINGS);

    Batch done = awaitStatus(acme, created.id(), Batch.Status.COMPLETED);

    List<JsonNode> output = lines(acme, done.outputFileId().orElseThrow());
    assertThat(output).extracting(l -> l.get("custom_id").asText()).containsExactly("e1", "e2", "e3");
    assertThat(output.get(0).at("/response/body/data/0/embedding").size()).isPositive();
  }

  @Test
  void create_badLines_refusedNamingTheLine() throws Exception {
    Path duplicate = jsonl("dup.jsonl", 3, i -> chatLine(i == 3 ? 1 : i));
    Path wrongUrl = jsonl("url.jsonl", 2, i -> chatLine(i).replace(i == 2 ? "/v1/chat/completions" : "@", "/v1/completions"));
    Path broken = jsonl("broken.jsonl", 2, i -> i == 2 ? "{\"custom_id\": " : chatLine(i));

    assertRefused(duplicate, "input_file_id: line 3: custom_id: 'req-1' is used by an earlier line");
    assertRefused(wrongUrl, "input_file_id: line 2: url: must be the batch's endpoint /v1/chat/completions");
    assertRefused(broken, "input_file_id: line 2: not valid JSON");
    HttpTestClient.Reply window = http.post("/v1/batches", "{\"input_file_id\": \"" + upload(acme, broken).id()
        + "\", \"endpoint\": \"/v1/chat/completions\", \"completion_window\": \"1h\"}", "Authorization",
        "Bearer " + ACME);
    assertThat(window.status()).isEqualTo(400);
    assertThat(window.json().at("/error/param").asText()).isEqualTo("completion_window");
  }

  private static void assertRefused(Path file, String message) {
    String id = upload(acme, file).id();
    assertThatThrownBy(() -> create(acme, id, BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS))
        .isInstanceOf(BadRequestException.class).hasMessageContaining(message);
  }

  @Test
  void upload_largerThanTheBound_is413() throws Exception {
    Path big = jsonl("big.jsonl", 600, BatchSdkTest::chatLine); // > 64 KiB

    assertThatThrownBy(() -> upload(acme, big)).hasMessageContaining("413");
  }

  @Test
  void tenants_anotherTenantsFileAndBatch_are404() throws Exception {
    FileObject file = upload(acme, jsonl("mine.jsonl", 1, BatchSdkTest::chatLine));
    Batch batch = create(acme, file.id(), BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS);

    assertThatThrownBy(() -> globex.batches().retrieve(batch.id())).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> globex.files().retrieve(file.id())).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> globex.files().content(file.id())).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> create(globex, file.id(), BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS))
        .isInstanceOf(NotFoundException.class);
    assertThat(globex.batches().list().data()).extracting(Batch::id).doesNotContain(batch.id());
    assertThat(http.get("/v1/batches/" + batch.id()).status()).isEqualTo(401);
  }

  @Test
  void cancel_endsCancelled_withNoMoreLinesRunAfterIt() throws Exception {
    Batch batch = create(acme, upload(acme, jsonl("cancel.jsonl", 300, BatchSdkTest::chatLine)).id(),
        BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS);

    Batch cancelling = acme.batches().cancel(batch.id());

    assertThat(cancelling.status()).isIn(Batch.Status.CANCELLING, Batch.Status.CANCELLED);
    Batch cancelled = awaitStatus(acme, batch.id(), Batch.Status.CANCELLED);
    long answered = cancelled.requestCounts().orElseThrow().completed() + cancelled.requestCounts().orElseThrow().failed();
    assertThat(answered).isLessThan(300);
    assertThat(acme.batches().retrieve(batch.id()).requestCounts().orElseThrow().completed())
        .isEqualTo(cancelled.requestCounts().orElseThrow().completed());
    assertThat(Map.of("metadata", cancelled.metadata().isPresent())).isNotNull();
  }
}
