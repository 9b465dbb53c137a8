package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.RawHttp;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Limits;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@code http.max_threads} bounds the threads Jetty runs requests on: clients that send headers
 * and then stall their bodies each hold a request thread (blocked reading the body until the
 * idle timeout answers 408), and however many of them there are, no more than {@code
 * max_threads} threads are ever seen holding one; the rest wait their turn and the agent serves
 * on afterwards.
 */
class RequestThreadsHttpTest {
  private static final int MAX_THREADS = EdgeConfig.Http.MIN_THREADS;
  private static final int STALLED_CLIENTS = 3 * MAX_THREADS;
  private static final Duration IDLE = Duration.ofSeconds(1);
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void stalledBodies_moreThanMaxThreads_holdAtMostMaxThreads() throws Exception {
    EdgeConfig config = TinyModel.config()
        .withLimits(Limits.builder().idleTimeout(IDLE).headerTimeout(IDLE).build());
    config = config.withHttp(config.http().toBuilder().maxThreads(MAX_THREADS).build());
    ExecutorService readers = Executors.newFixedThreadPool(STALLED_CLIENTS);
    List<RawHttp> clients = new ArrayList<>();
    try (EdgeAgent agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start()) {
      List<CompletableFuture<Void>> answered = new ArrayList<>();
      for (int i = 0; i < STALLED_CLIENTS; i++) {
        RawHttp raw = RawHttp.connect(agent.httpPort(), WAIT).send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"messages\"");
        clients.add(raw);
        answered.add(CompletableFuture.runAsync(() -> readAnswerOrClose(raw), readers));
      }
      AtomicInteger most = new AtomicInteger();
      // sampled until every stalled client has its answer (a 408, or its connection closed)
      await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
        most.accumulateAndGet(threadsReadingBodies(), Math::max);
        return answered.stream().allMatch(CompletableFuture::isDone);
      });

      assertThat(most.get()).as("request threads seen blocked reading a body at once").isBetween(1, MAX_THREADS);
      assertThat(new HttpTestClient(agent.httpPort()).get("/healthz").status()).isEqualTo(200);
    } finally {
      clients.forEach(RawHttp::close);
      readers.shutdownNow();
    }
  }

  private static void readAnswerOrClose(RawHttp raw) {
    try {
      raw.read();
    } catch (IOException closed) {
      // a connection that idled out while it waited for a thread may be closed instead of answered
    }
  }

  /** Threads of this JVM now inside {@link FrontDoor#readBody}. */
  private static int threadsReadingBodies() {
    int n = 0;
    for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
      for (StackTraceElement frame : stack) {
        if (frame.getClassName().equals(FrontDoor.class.getName()) && frame.getMethodName().equals("readBody")) {
          n++;
          break;
        }
      }
    }
    return n;
  }
}
