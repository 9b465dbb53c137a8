package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Admission, client disconnects and clean shutdown, driven by a scripted engine. */
class QueueAndShutdownHttpTest {
  private final FakeEngine engine = new FakeEngine(512, 1);
  private EdgeAgent agent;
  private HttpTestClient http;

  private void start(int queueDepth, Duration grace) throws Exception {
    EdgeConfig config = TinyModel.config()
        .withAdmission(new EdgeConfig.Admission(queueDepth, Duration.ofSeconds(2), Duration.ofMinutes(1)))
        .withShutdown(new EdgeConfig.Shutdown(grace));
    agent = EdgeAgent.builder(config).engine(engine).start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterEach
  void stop() {
    engine.release();
    agent.close();
  }

  private static String body(int maxTokens, boolean stream) {
    return "{\"model\": \"fake\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": " + maxTokens
        + ", \"temperature\": 1, \"stream\": " + stream + "}";
  }

  private CompletableFuture<Reply> postAsync(String body) {
    return CompletableFuture.supplyAsync(() -> http.post("/v1/chat/completions", body));
  }

  @Test
  void fullQueue_gets429WithRetryAfter() throws Exception {
    start(0, Duration.ofSeconds(5));
    engine.hold();
    CompletableFuture<Reply> running = postAsync(body(3, true));
    assertThat(engine.awaitFirstToken(5000)).isTrue();

    Reply refused = http.post("/v1/chat/completions", body(3, false));

    assertThat(refused.status()).isEqualTo(429);
    assertThat(refused.header("retry-after")).isEqualTo("2");
    assertThat(refused.json().at("/error/code").asText()).isEqualTo("queue_full");
    engine.release();
    assertThat(running.get(10, TimeUnit.SECONDS).events()).last().isEqualTo("[DONE]");
  }

  @Test
  void clientGoingAwayMidStream_cancelsGeneration() throws Exception {
    start(4, Duration.ofSeconds(5));
    engine.hold();
    engine.tokenDelay(2);
    byte[] body = body(400, true).getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket("127.0.0.1", agent.httpPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      assertThat(new String(socket.getInputStream().readNBytes(15), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200 OK");
    }
    engine.release();

    await().atMost(Duration.ofSeconds(10)).until(() -> engine.cancelled() == 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.service().inFlight() == 0);
  }

  @Test
  void shutdown_letsARunningStreamFinishWithinTheGrace() throws Exception {
    start(4, Duration.ofSeconds(10));
    engine.hold();
    CompletableFuture<Reply> running = postAsync(body(5, true));
    assertThat(engine.awaitFirstToken(5000)).isTrue();

    CompletableFuture<Void> closing = CompletableFuture.runAsync(agent::close);
    await().atMost(Duration.ofSeconds(5)).until(() -> !agent.service().ready());
    engine.release();

    Reply reply = running.get(15, TimeUnit.SECONDS);
    closing.get(15, TimeUnit.SECONDS);
    assertThat(reply.events()).last().isEqualTo("[DONE]");
    assertThat(reply.jsonEvents()).hasSize(7); // role, 5 deltas, finish
  }

  @Test
  void shutdown_cancelsWhatOutlivesTheGrace() throws Exception {
    start(4, Duration.ofMillis(300));
    engine.hold();
    CompletableFuture<Reply> running = postAsync(body(5, true));
    assertThat(engine.awaitFirstToken(5000)).isTrue();

    agent.close();

    Reply reply = running.get(15, TimeUnit.SECONDS);
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.events()).last().asString().contains("\"error\"").contains("shutting down");
    assertThat(engine.cancelled()).isEqualTo(1);
  }
}
