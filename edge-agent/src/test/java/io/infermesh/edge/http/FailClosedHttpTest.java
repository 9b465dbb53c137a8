package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The front door fails closed: every {@code x-infermesh-*} header the edge does not understand,
 * every value it does not know, and every contradiction is a 400 naming it (an ignored {@code
 * x-infermesh-privacy} would let the prompt leave the edge); stop strings and sampling values
 * the engine cannot take are 400s, never 500s.
 */
class FailClosedHttpTest {
  private static EdgeAgent agent;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    agent = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  private static String chat(String extra) {
    return "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 1" + extra + "}";
  }

  /** One refused request: its headers, its body's extra fields, and the param and message expected. */
  record Case(String name, String[] headers, String extra, String param, String message) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static Case header(String name, String value, String param, String message) {
    return new Case(name + ": " + value, new String[] {name, value}, "", param, message);
  }

  static Stream<Case> refused() {
    return Stream.of(
        header("x-infermesh-privacy", "local_only", "x-infermesh-privacy",
            "x-infermesh-privacy: must be local-only, got 'local_only'"),
        header("x-infermesh-privacy", "localonly", "x-infermesh-privacy", "must be local-only"),
        header("x-infermesh-privacy", "strict", "x-infermesh-privacy", "must be local-only, got 'strict'"),
        header("x-infermesh-privacy", "local-only, x", "x-infermesh-privacy", "got 'local-only, x'"),
        header("x-infermesh-privacy", "", "x-infermesh-privacy", "must be local-only, got ''"),
        header("x-infermesh-require", "edge", "x-infermesh-require", "x-infermesh-require: must be core, got 'edge'"),
        header("x-infermesh-priority", "urgent", "x-infermesh-priority", "must be high, normal or low"),
        header("x-infermesh-budget-ms", "-1", "x-infermesh-budget-ms",
            "x-infermesh-budget-ms: must be a whole number of milliseconds from 1 to 86400000, got '-1'"),
        header("x-infermesh-budget-ms", "0", "x-infermesh-budget-ms", "from 1 to 86400000"),
        header("x-infermesh-budget-ms", "99999999999999999999", "x-infermesh-budget-ms", "from 1 to 86400000"),
        header("x-infermesh-budget-ms", "1e3", "x-infermesh-budget-ms", "got '1e3'"),
        header("x-infermesh-tenant", "acme", "x-infermesh-tenant",
            "x-infermesh-tenant: unknown header; the x-infermesh-* request headers are"),
        header("X-Infermesh-Privcy", "local-only", "x-infermesh-privcy", "unknown header"),
        new Case("x-infermesh-privacy twice", new String[] {"x-infermesh-privacy", "local-only",
            "x-infermesh-privacy", "local-only"}, "", "x-infermesh-privacy", "send it once, got 2 values"),
        new Case("require core with model edge", new String[] {"x-infermesh-require", "core"},
            ", \"model\": \"edge\"", "require", "require: 'core' conflicts with model 'edge'"),
        new Case("require core with the edge's own model", new String[] {"x-infermesh-require", "core"},
            ", \"model\": \"tiny-edge\"", "require", "conflicts with model 'tiny-edge'"),
        new Case("local-only with model core", new String[] {"x-infermesh-privacy", "local-only"},
            ", \"model\": \"core\"", "privacy", "privacy: 'local-only' conflicts with model 'core'"),
        new Case("local-only and require core", new String[] {"x-infermesh-privacy", "local-only",
            "x-infermesh-require", "core"}, "", "require", "conflicts with privacy 'local-only'"),
        new Case("a stop string over the byte bound", new String[0], ", \"stop\": [\"ok\", \"" + "e".repeat(1025) + "\"]",
            "stop", "stop[1]: must be at most 1024 bytes of UTF-8, got 1025"),
        new Case("a huge stop string", new String[0], ", \"stop\": \"" + "e".repeat(200_000) + "\"",
            "stop", "stop[0]: must be at most 1024 bytes"),
        new Case("a stop string with an unpaired surrogate", new String[0], ", \"stop\": \"a\\ud800\"",
            "stop", "unpaired surrogate"),
        new Case("top_p below the smallest float", new String[0], ", \"top_p\": 1e-46", "top_p",
            "top_p: must be greater than 0 and at most 1 (the smallest usable value is 1.4E-45), got 1.0E-46"),
        new Case("top_p the smallest double", new String[0], ", \"top_p\": 4.9e-324", "top_p", "top_p: must be"),
        header("x-infermesh-reanswer", "later", "x-infermesh-reanswer",
            "x-infermesh-reanswer: must be deferred, got 'later'"),
        header("x-infermesh-reanswer", "deferred", "reanswer", "reanswer: this edge does not keep re-answers"),
        new Case("reanswer with n = 2", new String[] {"x-infermesh-reanswer", "deferred"}, ", \"n\": 2",
            "x-infermesh-reanswer", "a re-answer is one plain choice"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void completion_unknownHeaderValueOrBound_is400NamingIt(Case c) {
    Reply r = http.post("/v1/chat/completions", chat(c.extra()), c.headers());

    assertThat(r.status()).as(r.raw().body()).isEqualTo(400);
    assertThat(r.header("content-type")).startsWith("application/json");
    JsonNode error = r.json().get("error");
    assertThat(error.get("param").asText()).isEqualTo(c.param());
    assertThat(error.get("message").asText()).contains(c.message());
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void completion_knownHeadersInAnyCase_areAccepted() {
    Reply r = http.post("/v1/chat/completions", chat(", \"stop\": [\"" + "e".repeat(1024) + "\"]"),
        "X-Infermesh-Privacy", " Local-Only ", "x-infermesh-priority", "HIGH", "x-infermesh-budget-ms", "60000");

    assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
    assertThat(r.header("x-infermesh-reason")).isEqualTo("privacy-local-only");
  }

  @Test
  void models_unknownInfermeshHeader_is400() {
    Reply r = http.get("/v1/models", "x-infermesh-privacy", "strict");

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/param").asText()).isEqualTo("x-infermesh-privacy");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedEmbeddingHints")
  void embeddings_unknownHeaderValueOrContradiction_is400NamingIt(Case c) {
    Reply r = http.post("/v1/embeddings", "{\"input\": \"hi\"" + c.extra() + "}", c.headers());

    assertThat(r.status()).as(r.raw().body()).isEqualTo(400);
    JsonNode error = r.json().get("error");
    assertThat(error.get("param").asText()).isEqualTo(c.param());
    assertThat(error.get("message").asText()).contains(c.message());
  }

  static Stream<Case> refusedEmbeddingHints() {
    return Stream.of(
        header("x-infermesh-privacy", "strict", "x-infermesh-privacy", "must be local-only, got 'strict'"),
        header("x-infermesh-tenant", "acme", "x-infermesh-tenant", "unknown header"),
        new Case("require core with the edge's own model", new String[] {"x-infermesh-require", "core"},
            ", \"model\": \"tiny-edge\"", "x-infermesh-require", "contradicts model 'tiny-edge'"),
        header("x-infermesh-reanswer", "deferred", "x-infermesh-reanswer", "not embeddings"));
  }
}
