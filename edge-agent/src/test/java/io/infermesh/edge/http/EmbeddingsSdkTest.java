package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.Embedding;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/embeddings} on the edge (llama.cpp's embedding mode), through the official OpenAI Java SDK. */
class EmbeddingsSdkTest {
  private static EdgeAgent agent;
  private static OpenAIClient client;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    agent = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start();
    client = SdkEdge.client(agent, "unused");
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    client.close();
    agent.close();
  }

  private static EmbeddingCreateParams.Builder batch(List<String> texts) {
    return EmbeddingCreateParams.builder().model("tiny-edge").inputOfArrayOfStrings(texts)
        .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT);
  }

  @Test
  void embeddings_aBatch_unitVectorsInInputOrder() {
    CreateEmbeddingResponse r = client.embeddings().create(batch(List.of("hello world", "a fox", "hello world"))
        .build());

    r.validate();
    assertThat(r.data()).extracting(Embedding::index).containsExactly(0L, 1L, 2L);
    assertThat(r.model()).isEqualTo("tiny-edge");
    List<Float> first = r.data().get(0).embedding();
    assertThat(first).isEqualTo(r.data().get(2).embedding()).isNotEqualTo(r.data().get(1).embedding());
    assertThat(first.stream().mapToDouble(v -> v * v).sum()).isCloseTo(1.0, within(1e-4));
    assertThat(r.usage().promptTokens()).isPositive();
  }

  @Test
  void embeddings_base64_decodesToTheSameVector() {
    List<Float> asFloats = client.embeddings().create(batch(List.of("a fox")).build()).data().get(0).embedding();

    List<Float> fromBase64 = client.embeddings().create(batch(List.of("a fox"))
        .encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64).build()).data().get(0).embedding();

    assertThat(fromBase64).isEqualTo(asFloats);
  }

  @Test
  void embeddings_autoAndASingleString_embedOnTheEdge() {
    HttpTestClient.Reply r = http.post("/v1/embeddings", "{\"input\": \"hello\", \"model\": \"auto\"}");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("x-infermesh-route")).isEqualTo("edge");
    assertThat(r.header("x-infermesh-reason")).isEqualTo("embeddings-edge");
  }

  @Test
  void embeddings_dimensions_onlyTheModelsOwnSize() {
    int size = client.embeddings().create(batch(List.of("x")).build()).data().get(0).embedding().size();

    assertThat(client.embeddings().create(batch(List.of("x")).dimensions(size).build()).data()).hasSize(1);
    assertRefused(() -> client.embeddings().create(batch(List.of("x")).dimensions(size / 2).build()), "dimensions");
  }

  @Test
  void embeddings_badInput_refusedNamingTheField() {
    assertRefused(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("tiny-edge")
        .inputOfArrayOfTokens(List.of(1L, 2L)).build()), "input");
    assertRefused(() -> client.embeddings().create(batch(List.of("ok", "")).build()), "input");
    assertRefused(() -> client.embeddings().create(batch(List.of("x"))
        .putAdditionalBodyProperty("truncate", JsonValue.from(true)).build()), "truncate");
    assertThat(http.post("/v1/embeddings", "{\"input\": \"x\", \"encoding_format\": \"int8\"}").json()
        .at("/error/param").asText()).isEqualTo("encoding_format");
    assertThat(http.post("/v1/embeddings", "{\"input\": \"" + "word ".repeat(600) + "\"}").json()
        .at("/error/param").asText()).isEqualTo("input");
  }

  @Test
  void embeddings_coreWithoutACore_notFound() {
    assertThatThrownBy(() -> client.embeddings().create(batch(List.of("x")).model("core").build()))
        .isInstanceOf(NotFoundException.class);
  }

  private static void assertRefused(Runnable call, String field) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(BadRequestException.class,
        e -> assertThat(e.param()).hasValue(field));
  }

  @Test
  void embeddings_servedAndRefused_areCountedInTheGenAiMeters() {
    client.embeddings().create(batch(List.of("count me")).build());
    http.post("/v1/embeddings", "{\"input\": \"x\", \"model\": \"no-such-model\"}");

    String metrics = http.get("/metrics").raw().body();
    assertThat(metrics).containsPattern("gen_ai_server_request_duration_seconds_count\\{[^}]*error_type=\"none\""
        + "[^}]*gen_ai_operation_name=\"embeddings\"[^}]*infermesh_route=\"edge\"");
    assertThat(metrics).containsPattern("gen_ai_server_request_duration_seconds_count\\{[^}]*error_type=\"(?!none)"
        + "[a-z_]+\"[^}]*gen_ai_operation_name=\"embeddings\"");
    assertThat(metrics).containsPattern("gen_ai_client_token_usage_tokens_count\\{[^}]*gen_ai_operation_name="
        + "\"embeddings\"[^}]*gen_ai_token_type=\"input\"");
  }
}
