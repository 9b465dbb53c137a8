package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bad-input table: each malformed request gets a 4xx with an OpenAI error naming the field,
 * and the agent keeps serving the next good request.
 */
class BadInputHttpTest {
  private static final int MAX_BODY = 16 * 1024;
  private static EdgeAgent agent;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    EdgeConfig base = TinyModel.config();
    EdgeConfig config = base.withModel(base.model()).withHttpPort(0);
    config = config.withHttp(EdgeConfig.Http.builder().port(0).maxBodyBytes(MAX_BODY).build());
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  /** One row of the table. */
  record Case(String name, String path, String contentType, byte[] body, int status, String param, String message) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static Case chat(String name, String body, int status, String param, String message) {
    return new Case(name, "/v1/chat/completions", "application/json", body.getBytes(StandardCharsets.UTF_8), status,
        param, message);
  }

  private static String user(String extra) {
    return "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]" + extra + "}";
  }

  static Stream<Case> table() {
    ByteArrayOutputStream badUtf8 = new ByteArrayOutputStream();
    badUtf8.writeBytes("{\"messages\": [{\"role\": \"user\", \"content\": \"caf".getBytes(StandardCharsets.US_ASCII));
    badUtf8.write(0xC3); // a lead byte followed by an ASCII quote: not UTF-8
    badUtf8.writeBytes("\"}]}".getBytes(StandardCharsets.US_ASCII));
    return Stream.of(
        chat("invalid JSON", "{\"messages\": [", 400, null, "Invalid JSON body"),
        chat("JSON that is not an object", "[1, 2]", 400, null, "expected a JSON object"),
        new Case("wrong content type", "/v1/chat/completions", "text/plain",
            user("").getBytes(StandardCharsets.UTF_8), 415, "Content-Type", "Content-Type: must be application/json"),
        new Case("missing content type", "/v1/chat/completions", null,
            user("").getBytes(StandardCharsets.UTF_8), 415, "Content-Type", "Content-Type: missing"),
        new Case("body over the size limit", "/v1/chat/completions", "application/json",
            user(", \"user\": \"" + "x".repeat(MAX_BODY) + "\"").getBytes(StandardCharsets.UTF_8), 413, null,
            "body: the request body"),
        chat("missing messages", "{\"model\": \"tiny-edge\"}", 400, "messages", "messages: is required"),
        chat("empty messages", "{\"messages\": []}", 400, "messages", "messages: must contain at least one message"),
        chat("messages not an array", "{\"messages\": \"hi\"}", 400, "messages", "messages: must be an array"),
        chat("unknown role", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", 400, "messages[0].role",
            "messages[0].role: unknown role 'wizard'"),
        chat("non-string content", "{\"messages\": [{\"role\": \"user\", \"content\": 42}]}", 400,
            "messages[0].content", "messages[0].content: must be a string"),
        chat("image content part", "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}",
            400, "messages[0].content[0]", "only text parts"),
        chat("empty user content", "{\"messages\": [{\"role\": \"user\", \"content\": \"\"}]}", 400,
            "messages[0].content", "must not be empty"),
        chat("max_tokens zero", user(", \"max_tokens\": 0"), 400, "max_tokens", "max_tokens: must be at least 1"),
        chat("max_tokens negative", user(", \"max_tokens\": -3"), 400, "max_tokens", "max_tokens: must be at least 1"),
        chat("max_tokens not an integer", user(", \"max_tokens\": \"ten\""), 400, "max_tokens",
            "max_tokens: must be an integer"),
        chat("max_tokens beyond the context", user(", \"max_tokens\": 100000"), 400, "max_tokens",
            "max_tokens: must be at most 512"),
        chat("max_tokens beyond the room left", user(", \"max_tokens\": 510"), 400, "max_tokens",
            "exceeds this model's context length of 512 tokens"),
        chat("temperature above 2", user(", \"temperature\": 2.5"), 400, "temperature",
            "temperature: must be between 0 and 2, got 2.5"),
        chat("temperature negative", user(", \"temperature\": -0.1"), 400, "temperature", "temperature: must be between"),
        chat("top_p zero", user(", \"top_p\": 0"), 400, "top_p", "top_p: must be greater than 0 and at most 1"),
        chat("top_p above 1", user(", \"top_p\": 1.5"), 400, "top_p", "top_p: must be greater than 0"),
        chat("unknown model", user(", \"model\": \"gpt-4o\""), 404, "model", "model: the model 'gpt-4o' does not exist"),
        chat("prompt longer than the context",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"" + "lorem ipsum dolor ".repeat(400) + "\"}]}",
            400, "messages", "messages: the prompt is"),
        new Case("invalid UTF-8", "/v1/chat/completions", "application/json", badUtf8.toByteArray(), 400,
            "messages[0].content", "not valid UTF-8"),
        chat("n above 8", user(", \"n\": 9"), 400, "n", "n: must be between 1 and 8"),
        chat("stream not a boolean", user(", \"stream\": \"yes\""), 400, "stream", "stream: must be true or false"),
        chat("too many stop strings", user(", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]"), 400, "stop",
            "stop: at most 4"),
        chat("bad request id", user(""), 400, "x-request-id", "x-request-id: must be at most 128"),
        chat("unknown priority", user(""), 400, "x-infermesh-priority",
            "x-infermesh-priority: must be high, normal or low, got 'urgent'"),
        new Case("completion without prompt", "/v1/completions", "application/json",
            "{\"max_tokens\": 3}".getBytes(StandardCharsets.UTF_8), 400, "prompt", "prompt: is required"),
        new Case("completion with a number prompt", "/v1/completions", "application/json",
            "{\"prompt\": 7}".getBytes(StandardCharsets.UTF_8), 400, "prompt", "prompt: must be a string"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void badRequest_getsAnOpenAiErrorNamingTheField_andTheAgentKeepsServing(Case c) {
    String[] headers = switch (c.name()) {
      case "bad request id" -> new String[] {"x-request-id", "has spaces in it"};
      case "unknown priority" -> new String[] {"x-infermesh-priority", "urgent"};
      default -> new String[0];
    };
    Reply r = http.postBytes(c.path(), c.contentType(), c.body(), headers);

    assertThat(r.status()).as(r.raw().body()).isEqualTo(c.status());
    assertThat(r.header("content-type")).startsWith("application/json");
    JsonNode error = r.json().get("error");
    assertThat(error.get("message").asText()).contains(c.message());
    if (c.param() == null) {
      assertThat(error.get("param").isNull()).isTrue();
    } else {
      assertThat(error.get("param").asText()).isEqualTo(c.param());
    }
    assertThat(error.has("type")).isTrue();
    assertThat(error.has("code")).isTrue();

    Reply next = http.post("/v1/chat/completions", user(", \"max_tokens\": 1"));
    assertThat(next.status()).isEqualTo(200);
  }
}
