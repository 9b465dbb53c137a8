package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.auth.ApiKeys;
import io.infermesh.edge.auth.RateLimiter;
import io.infermesh.edge.cache.ResponseCache;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.engine.AdmissionQueue;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.Usage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * When SSE bytes leave the edge: a token is on the wire before the writer waits for the next one,
 * however quickly it followed the previous token. The escalated stream here is scripted: {@value
 * #TOKENS} tokens back to back (a fast stream), then nothing more until the client has read the
 * last of them.
 */
class SseFlushHttpTest {
  private static final int TOKENS = 200;
  private static final String LAST = "\"content\":\"t" + (TOKENS - 1) + "\"";
  private final FakeEngine engine = new FakeEngine(256, 1);
  private final CountDownLatch clientSawLast = new CountDownLatch(1);
  private final List<Boolean> releasedByClient = new CopyOnWriteArrayList<>();
  private HttpApi http;

  @AfterEach
  void stop() {
    if (http != null) {
      http.close();
    }
  }

  @Test
  void stream_fastTokensThenAPause_theLastTokenIsFlushedBeforeTheWriterWaits() throws Exception {
    http = HttpApi.start(service(), () -> "", EdgeConfig.Http.builder().port(0).build(), "127.0.0.1", Duration.ofSeconds(30),
        Clock.systemUTC());

    List<String> events = new ArrayList<>();
    try (Socket socket = new Socket("127.0.0.1", http.port())) {
      socket.setTcpNoDelay(true);
      byte[] body = ("{\"model\": \"core\", \"stream\": true, \"max_tokens\": 4, "
          + "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}").getBytes(StandardCharsets.UTF_8);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (line.startsWith("data: ")) {
          events.add(line);
          if (line.contains(LAST)) {
            clientSawLast.countDown();
          }
          if (line.equals("data: [DONE]")) {
            break;
          }
        }
      }
    }

    assertThat(events).anyMatch(e -> e.contains("\"content\":\"t0\"")).anyMatch(e -> e.contains(LAST))
        .last().isEqualTo("data: [DONE]");
    assertThat(releasedByClient).as("the stream went on only after the client had read the last token")
        .containsExactly(true);
  }

  private CompletionService service() {
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().name("fake").contextSize(256).threads(1).defaultMaxTokens(8).build())
        .withEscalation(Escalation.NONE.withTarget("core:9443", Path.of("certs"), "edge-0"));
    CompletionService service = CompletionService.builder()
        .config(config)
        .router(r -> new RouteDecision(Route.CORE, "alias-core"))
        .escalator(new Escalator() {
          @Override
          public CoreState state() {
            return CoreState.AVAILABLE;
          }

          @Override
          public CompletionStream escalate(Call call) {
            return new ScriptedStream(call.requestId());
          }
        })
        .cache(ResponseCache.create(1 << 20, Duration.ofMinutes(1), Ticker.systemTicker()))
        .apiKeys(ApiKeys.of(config.auth()))
        .rateLimiter(RateLimiter.create(System::nanoTime))
        .admission(AdmissionQueue.create(1, 4))
        .metrics(EdgeMetrics.of(new SimpleMeterRegistry()))
        .build();
    service.engineLoaded(engine);
    return service;
  }

  /** "t0" … "t199" at once, then waits (up to 5 s) for the client to have read the last, then ends. */
  private final class ScriptedStream implements CompletionStream {
    private final Served served;
    private int calls;

    ScriptedStream(String requestId) {
      this.served = new Served(requestId, new RouteDecision(Route.CORE, "alias-core"), "core", "1");
    }

    @Override
    public Served served() {
      return served;
    }

    @Override
    public StreamEvent next() throws InterruptedException {
      int call = calls++;
      if (call < TOKENS) {
        return new StreamEvent.Delta("t" + call);
      }
      if (call == TOKENS) {
        releasedByClient.add(clientSawLast.await(5, TimeUnit.SECONDS));
      }
      return new StreamEvent.Done(FinishReason.STOP, new Usage(1, TOKENS, 0));
    }

    @Override
    public StreamEvent poll() {
      return null;
    }

    @Override
    public void cancel() {
    }
  }
}
