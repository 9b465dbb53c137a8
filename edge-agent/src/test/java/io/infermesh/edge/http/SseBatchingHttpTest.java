package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SSE batching against the real llama.cpp engine with a flush interval far longer than the
 * answer takes: the answer is whole and in order, and its end is not held back until the
 * interval runs out (the writer wakes for the end).
 */
class SseBatchingHttpTest {
  private static final Duration INTERVAL = Duration.ofSeconds(1); // the most the config allows
  private static EdgeAgent agent;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    EdgeConfig c = TinyModel.config().withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)));
    EdgeConfig slowFlush = c.withHttp(c.http().toBuilder().streamFlushInterval(INTERVAL).build());
    agent = EdgeAgent.builder(slowFlush).engine(TinyModel.engine()).start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  @Test
  void stream_answerShorterThanTheFlushInterval_endsWithoutWaitingItOut() {
    String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story\"}], \"max_tokens\": 400,"
        + " \"temperature\": 0, \"stream\": true}";
    String whole = "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story\"}], \"max_tokens\": 400,"
        + " \"temperature\": 0}";

    Reply answer = http.post("/v1/chat/completions", whole);
    http.post("/v1/chat/completions", body); // warm: a cold first request is slower than the answer

    long started = System.nanoTime();
    Reply streamed = http.post("/v1/chat/completions", body);
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    List<String> events = streamed.events();
    assertThat(events).last().isEqualTo("[DONE]");
    StringBuilder text = new StringBuilder();
    streamed.jsonEvents().forEach(e -> text.append(e.at("/choices/0/delta/content").asText("")));
    assertThat(text.toString()).isEqualTo(answer.json().at("/choices/0/message/content").asText());
    assertThat(answer.json().at("/usage/completion_tokens").asInt()).as("long enough to need several flushes")
        .isGreaterThan(100);
    // the tiny model answers in milliseconds; a writer that slept out the interval takes 1 s
    assertThat(took).isLessThan(INTERVAL.dividedBy(2));
  }
}
