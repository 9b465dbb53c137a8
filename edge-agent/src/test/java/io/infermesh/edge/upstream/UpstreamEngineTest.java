package io.infermesh.edge.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.LocalEngine;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code engine.type: upstream} end to end: a front edge whose local tier is a real OpenAI-compatible
 * server — another infermesh edge on the tiny model, on port 0 — answering through it, compared with
 * the same server asked directly.
 */
class UpstreamEngineTest {
  private static EdgeAgent upstream;
  private static EdgeAgent front;
  private static HttpTestClient direct;
  private static HttpTestClient through;

  @BeforeAll
  static void start() throws Exception {
    upstream = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start();
    direct = new HttpTestClient(upstream.httpPort());
    front = startFront("http://127.0.0.1:" + upstream.httpPort(), Duration.ofSeconds(60));
    through = new HttpTestClient(front.httpPort());
  }

  @AfterAll
  static void stop() {
    if (front != null) {
      front.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  /** A front edge named {@code front} forwarding its local tier to {@code url}, two generations at once. */
  static EdgeAgent startFront(String url, Duration timeout) throws Exception {
    EdgeConfig config = EdgeConfig.defaults().withHttpPort(0).toBuilder()
        .model(EdgeConfig.Model.builder().name("front").contextSize(TinyModel.CONTEXT).defaultMaxTokens(16).build())
        .engine(LocalEngine.Upstream.builder(url).model(TinyModel.NAME).timeout(timeout).maxConcurrency(2).build())
        .build();
    EdgeAgent agent = EdgeAgent.builder(config).start();
    agent.awaitModel(Duration.ofSeconds(30));
    return agent;
  }

  private static String chat(String model, String content, int maxTokens, String extra) {
    return """
        {"model": "%s", "messages": [{"role": "system", "content": "Be brief."},
          {"role": "user", "content": "%s"}], "max_tokens": %d, "temperature": 0%s}
        """.formatted(model, content, maxTokens, extra);
  }

  @Test
  void chat_nonStreaming_isTheUpstreamsAnswerWithItsUsage() {
    Reply asked = direct.post("/v1/chat/completions", chat(TinyModel.NAME, "plain answer", 8, ""));
    Reply r = through.post("/v1/chat/completions", chat("front", "plain answer", 8, ""));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("x-infermesh-route")).isEqualTo("edge");
    JsonNode body = r.json();
    assertThat(body.get("model").asText()).isEqualTo("front");
    assertThat(body.at("/choices/0/message/content").asText())
        .isEqualTo(asked.json().at("/choices/0/message/content").asText());
    assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(8);
    assertThat(body.at("/usage/prompt_tokens").asInt())
        .as("the upstream's own count, not the edge's estimate")
        .isEqualTo(asked.json().at("/usage/prompt_tokens").asInt());
  }

  @Test
  void chat_streaming_relaysTheDeltasAsTheyCome() {
    Reply asked = direct.post("/v1/chat/completions", chat(TinyModel.NAME, "stream it", 24, ", \"stream\": true"));
    Reply r = through.post("/v1/chat/completions", chat("front", "stream it", 24,
        ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-type")).startsWith("text/event-stream");
    assertThat(r.events()).last().isEqualTo("[DONE]");
    List<String> deltas = contents(r.jsonEvents());
    assertThat(String.join("", deltas)).isEqualTo(String.join("", contents(asked.jsonEvents())));
    assertThat(deltas).as("relayed as it streams, not as one buffered answer").hasSizeGreaterThan(1);
    List<JsonNode> chunks = r.jsonEvents();
    assertThat(chunks.get(chunks.size() - 2).at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(chunks.get(chunks.size() - 1).at("/usage/completion_tokens").asInt()).isEqualTo(24);
  }

  @Test
  void completions_sampledWithSeedTopKAndStop_isTheUpstreamsAnswer() {
    String body = """
        {"model": "%s", "prompt": "Once upon a time", "max_tokens": 20, "temperature": 1.0, "top_k": 40,
         "top_p": 0.9, "seed": 1234, "presence_penalty": 0.5, "stop": ["zzzz"]}
        """;
    Reply asked = direct.post("/v1/completions", body.formatted(TinyModel.NAME));
    Reply greedy = direct.post("/v1/completions", body.formatted(TinyModel.NAME).replace("\"temperature\": 1.0",
        "\"temperature\": 0"));
    Reply r = through.post("/v1/completions", body.formatted("front"));

    assertThat(r.status()).isEqualTo(200);
    String text = r.json().at("/choices/0/text").asText();
    assertThat(text).isEqualTo(asked.json().at("/choices/0/text").asText());
    assertThat(text).as("sampling was forwarded, not left at the upstream's greedy default")
        .isNotEqualTo(greedy.json().at("/choices/0/text").asText());
  }

  @Test
  void responseFormat_isRefusedNamingTheField() {
    Reply r = through.post("/v1/chat/completions", chat("front", "json please", 8,
        ", \"response_format\": {\"type\": \"json_object\"}"));

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/param").asText()).isEqualTo("response_format");
    assertThat(r.json().at("/error/message").asText()).contains("engine.type: upstream");
  }

  @Test
  void upstreams400_isPassedThroughWithItsMessage() {
    String extra = ", \"logit_bias\": {\"999999\": 5}";
    Reply asked = direct.post("/v1/chat/completions", chat(TinyModel.NAME, "bias", 4, extra));
    Reply r = through.post("/v1/chat/completions", chat("front", "bias", 4, extra));

    assertThat(asked.status()).isEqualTo(400);
    assertThat(r.status()).isEqualTo(400);
    String message = r.json().at("/error/message").asText();
    assertThat(message).startsWith("upstream http://127.0.0.1:" + upstream.httpPort() + "/ answered 400: ")
        .contains(asked.json().at("/error/message").asText());
    assertThat(r.json().at("/error/param").asText()).isEqualTo(asked.json().at("/error/param").asText());
  }

  @Test
  void embeddings_onTheEdgeTier_areRefusedNamingModel() {
    Reply r = through.post("/v1/embeddings", "{\"model\": \"edge\", \"input\": \"hello\"}");

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/param").asText()).isEqualTo("model");
    assertThat(r.json().at("/error/message").asText()).contains("engine.type: upstream");
  }

  @Test
  void upstreamStopped_is503NamingTheUpstream() throws Exception {
    EdgeAgent gone = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start();
    int port = gone.httpPort();
    try (EdgeAgent orphan = startFront("http://127.0.0.1:" + port, Duration.ofSeconds(30))) {
      HttpTestClient client = new HttpTestClient(orphan.httpPort());
      assertThat(client.post("/v1/chat/completions", chat("front", "before", 2, "")).status()).isEqualTo(200);
      gone.close();

      Reply r = client.post("/v1/chat/completions", chat("front", "after", 2, ""));
      Reply streamed = client.post("/v1/chat/completions", chat("front", "after, streamed", 2, ", \"stream\": true"));

      assertThat(r.status()).isEqualTo(503);
      assertThat(r.json().at("/error/message").asText())
          .isEqualTo("the local engine's upstream http://127.0.0.1:" + port + "/ refused the connection; is it running?");
      assertThat(streamed.status()).isEqualTo(503);
      assertThat(orphan.service().inFlight()).isZero();
    } finally {
      gone.close();
    }
  }

  @Test
  void upstreamWantsAKey_is503NamingTheKeySetting_notTheUpstreamsMessage() throws Exception {
    EdgeConfig keyed = TinyModel.config().withAuth(new EdgeConfig.Auth(List.of(
        EdgeConfig.Tenant.builder("edge").keys("sk-upstream-only-key-0001").build())));
    try (EdgeAgent locked = EdgeAgent.builder(keyed.withHttpHost("127.0.0.1")).engine(TinyModel.engine()).start();
        EdgeAgent keyless = startFront("http://127.0.0.1:" + locked.httpPort(), Duration.ofSeconds(30))) {
      Reply r = new HttpTestClient(keyless.httpPort()).post("/v1/chat/completions", chat("front", "let me in", 2, ""));

      assertThat(r.status()).isEqualTo(503);
      assertThat(r.json().at("/error/message").asText()).isEqualTo("the local engine's upstream http://127.0.0.1:"
          + locked.httpPort() + "/ answered 401: it wants a key (engine.upstream.api_key_env)");
    }
  }

  @Test
  void clientGoneMidStream_freesTheSlotAndLaterRequestsAreServed() throws Exception {
    HttpRequest request = HttpRequest.newBuilder(through.uri("/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(chat("front", "a long one", 400,
            ", \"stream\": true, \"temperature\": 1.0, \"seed\": 5")))
        .build();
    HttpResponse<InputStream> r = through.raw().send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine()).isNotNull();
    } // closed after the first line: the edge's next write fails and it cancels the generation

    await().atMost(Duration.ofSeconds(30)).until(() -> front.service().inFlight() == 0);
    await().atMost(Duration.ofSeconds(30)).until(() -> upstream.service().inFlight() == 0);
    for (int i = 0; i < 3; i++) { // more than max_concurrency: each slot and connection was given back
      assertThat(through.post("/v1/chat/completions", chat("front", "after the cancel " + i, 2, "")).status())
          .isEqualTo(200);
    }
  }

  @Test
  void silentUpstream_timesOutWith503AndItsConnectionIsClosed() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        EdgeAgent waiting = startFront("http://127.0.0.1:" + silent.getLocalPort(), Duration.ofSeconds(1))) {
      HttpTestClient client = new HttpTestClient(waiting.httpPort());
      Thread asker = new Thread(() -> client.post("/v1/chat/completions", chat("front", "anyone?", 2, "")));
      asker.start();
      try (Socket accepted = silent.accept()) { // a real TCP peer that reads the request and never answers
        accepted.setSoTimeout(30_000);
        InputStream in = accepted.getInputStream();
        byte[] buffer = new byte[8192];
        int n;
        do {
          n = in.read(buffer);
        } while (n > 0); // the request, then end of stream once the edge gives up and closes
        assertThat(n).isEqualTo(-1);
      }
      asker.join(30_000);
      Reply r = client.post("/v1/chat/completions", chat("front", "anyone else?", 2, ""));
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.json().at("/error/message").asText()).contains("upstream http://127.0.0.1:" + silent.getLocalPort());
    }
  }

  private static List<String> contents(List<JsonNode> chunks) {
    List<String> out = new ArrayList<>();
    for (JsonNode c : chunks) {
      String text = c.at("/choices/0/delta/content").asText("");
      if (!text.isEmpty()) {
        out.add(text);
      }
    }
    return out;
  }
}
