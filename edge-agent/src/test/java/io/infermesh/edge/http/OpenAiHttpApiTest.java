package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI shapes of every endpoint, against a real agent on the tiny model. */
class OpenAiHttpApiTest {
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

  private static String chat(String content, int maxTokens, String extra) {
    return """
        {"model": "tiny-edge", "messages": [{"role": "system", "content": "Be brief."},
          {"role": "user", "content": "%s"}], "max_tokens": %d, "temperature": 0%s}
        """.formatted(content, maxTokens, extra);
  }

  @Test
  void chatCompletions_nonStreaming_hasTheOpenAiShape() {
    long before = Instant.now().getEpochSecond();
    Reply r = http.post("/v1/chat/completions", chat("shape", 6, ""));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-type")).startsWith("application/json");
    assertThat(r.header("x-infermesh-route")).isEqualTo("edge");
    assertThat(r.header("x-infermesh-reason")).isEqualTo("no-core-configured");
    assertThat(r.header("x-request-id")).startsWith("req-");
    JsonNode body = r.json();
    assertThat(body.get("id").asText()).startsWith("chatcmpl-");
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("created").asLong()).isBetween(before, before + 60);
    assertThat(body.get("model").asText()).isEqualTo("tiny-edge");
    JsonNode choice = body.get("choices").get(0);
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").isTextual()).isTrue();
    assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
    assertThat(choice.has("logprobs")).isTrue();
    JsonNode usage = body.get("usage");
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(6);
    assertThat(usage.get("prompt_tokens").asInt()).isGreaterThan(10);
    assertThat(usage.get("total_tokens").asInt())
        .isEqualTo(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt());
    assertThat(usage.has("prompt_tokens_details")).as("the binding does not report llama.cpp's slot cache").isFalse();
  }

  @Test
  void chatCompletions_callersRequestId_isEchoed() {
    Reply r = http.post("/v1/chat/completions", chat("echo", 2, ""), "x-request-id", "trace-abc-123");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("x-request-id")).isEqualTo("trace-abc-123");
  }

  @Test
  void chatCompletions_streaming_sendsRoleThenDeltasThenFinishThenDone() {
    Reply whole = http.post("/v1/chat/completions", chat("stream me", 12, ""));
    Reply r = http.post("/v1/chat/completions", chat("stream me", 12, ", \"stream\": true, \"seed\": 1"));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-type")).startsWith("text/event-stream");
    List<String> events = r.events();
    assertThat(events).last().isEqualTo("[DONE]");
    List<JsonNode> chunks = r.jsonEvents();
    assertThat(chunks).allSatisfy(c -> {
      assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(c.get("id").asText()).isEqualTo(chunks.get(0).get("id").asText()).startsWith("chatcmpl-");
      assertThat(c.get("model").asText()).isEqualTo("tiny-edge");
      assertThat(c.has("usage")).isFalse();
    });
    assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    JsonNode last = chunks.get(chunks.size() - 1);
    assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(last.at("/choices/0/delta").isEmpty()).isTrue();
    StringBuilder text = new StringBuilder();
    chunks.subList(1, chunks.size() - 1).forEach(c -> {
      assertThat(c.at("/choices/0/finish_reason").isNull()).isTrue();
      text.append(c.at("/choices/0/delta/content").asText());
    });
    // greedy decoding with or without a seed gives the same text
    assertThat(text.toString()).isEqualTo(whole.json().at("/choices/0/message/content").asText());
  }

  @Test
  void chatCompletions_streamWithIncludeUsage_endsWithAUsageChunk() {
    Reply r = http.post("/v1/chat/completions",
        chat("usage please", 5, ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));

    List<JsonNode> chunks = r.jsonEvents();
    JsonNode usageChunk = chunks.get(chunks.size() - 1);
    assertThat(usageChunk.get("choices")).isEmpty();
    assertThat(usageChunk.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> assertThat(c.get("usage").isNull()).isTrue());
  }

  @Test
  void chatCompletions_sameGreedyRequestTwice_isReplayedFromTheCacheAsAStream() {
    Reply first = http.post("/v1/chat/completions", chat("cache me", 10, ", \"stream\": true"));
    Reply second = http.post("/v1/chat/completions", chat("cache me", 10, ", \"stream\": true"));

    assertThat(first.header("x-infermesh-route")).isEqualTo("edge");
    assertThat(second.header("x-infermesh-route")).isEqualTo("cache");
    assertThat(second.header("x-infermesh-reason")).isEqualTo("cache-hit");
    assertThat(contents(second)).isEqualTo(contents(first)).hasSizeGreaterThan(1);
    assertThat(second.events()).last().isEqualTo("[DONE]");
  }

  private static List<String> contents(Reply r) {
    return r.jsonEvents().stream().map(c -> c.at("/choices/0/delta/content").asText("")).toList();
  }

  @Test
  void completions_nonStreamingAndStreaming_haveTheTextCompletionShape() {
    String body = "{\"model\": \"tiny-edge\", \"prompt\": \"Once upon a time\", \"max_tokens\": 7, \"temperature\": 0.0";
    Reply whole = http.post("/v1/completions", body + "}");
    Reply stream = http.post("/v1/completions", body + ", \"seed\": 3, \"stream\": true}");

    assertThat(whole.status()).isEqualTo(200);
    JsonNode json = whole.json();
    assertThat(json.get("id").asText()).startsWith("cmpl-");
    assertThat(json.get("object").asText()).isEqualTo("text_completion");
    assertThat(json.at("/choices/0/text").isTextual()).isTrue();
    assertThat(json.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(json.at("/usage/completion_tokens").asInt()).isEqualTo(7);

    List<JsonNode> chunks = stream.jsonEvents();
    assertThat(chunks).allSatisfy(c -> assertThat(c.get("object").asText()).isEqualTo("text_completion"));
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.at("/choices/0/text").asText()));
    assertThat(text.toString()).isEqualTo(json.at("/choices/0/text").asText());
    assertThat(chunks.get(chunks.size() - 1).at("/choices/0/finish_reason").asText()).isEqualTo("length");
  }

  @Test
  void models_withoutACore_listTheAliasesAndTheLoadedModel() {
    Reply list = http.get("/v1/models");
    Reply one = http.get("/v1/models/tiny-edge");
    Reply alias = http.get("/v1/models/auto");
    Reply none = http.get("/v1/models/gpt-4o");

    assertThat(list.json().get("object").asText()).isEqualTo("list");
    assertThat(list.json().findValuesAsText("id")).containsExactly("auto", "edge", "tiny-edge");
    assertThat(list.json().at("/data/2/object").asText()).isEqualTo("model");
    assertThat(list.json().at("/data/2/owned_by").asText()).isEqualTo("infermesh-edge");
    assertThat(list.json().at("/data/2/context_length").asInt()).isEqualTo(TinyModel.CONTEXT);
    assertThat(one.json().get("id").asText()).isEqualTo("tiny-edge");
    assertThat(alias.json().get("owned_by").asText()).isEqualTo("infermesh");
    assertThat(none.status()).isEqualTo(404);
    assertThat(none.json().at("/error/code").asText()).isEqualTo("model_not_found");
  }

  @Test
  void healthAndReadiness_reportTheLoadedModel() {
    assertThat(http.get("/healthz").status()).isEqualTo(200);
    Reply ready = http.get("/readyz");
    assertThat(ready.status()).isEqualTo(200);
    assertThat(ready.json().get("model").asText()).isEqualTo("tiny-edge");
  }

  @Test
  void metrics_exposeTheGenAiMetersInPrometheusText() {
    http.post("/v1/chat/completions", chat("metrics", 3, ", \"temperature\": 0.5"));
    http.post("/v1/chat/completions", "{\"messages\": []}");

    Reply r = http.get("/metrics");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-type")).startsWith("text/plain");
    assertThat(r.raw().body())
        .contains("gen_ai_server_request_duration_seconds_count{")
        .contains("gen_ai_server_time_to_first_token_seconds_bucket{")
        .contains("gen_ai_server_time_per_output_token_seconds_count{")
        .contains("gen_ai_client_token_usage_tokens_sum{")
        .contains("gen_ai_token_type=\"output\"")
        .contains("infermesh_edge_queue_depth_requests")
        .contains("infermesh_edge_cache_requests_total{result=\"miss\"}")
        .contains("infermesh_edge_rejections_total{reason=\"invalid_argument\"}")
        .contains("infermesh_route_decisions_total{reason=\"no-core-configured\",route=\"edge\"}");
  }

  @Test
  void unknownPath_isAnOpenAiError() {
    Reply r = http.post("/v1/images/generations", "{}");

    assertThat(r.status()).isEqualTo(404);
    assertThat(r.json().at("/error/message").asText()).contains("Unknown request URL: POST /v1/images/generations");
    assertThat(r.json().at("/error/type").asText()).isEqualTo("invalid_request_error");
  }
}
