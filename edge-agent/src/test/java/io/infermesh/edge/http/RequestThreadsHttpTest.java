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
 * on afterwards. {@code http.selectors} sets how many threads wait in Jetty's selectors.
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

  @Test
  void selectors_setToThree_threeMoreThreadsSelect() throws Exception {
    int before = threadsSelecting(); // other agents' selectors, if any are alive in this JVM
    EdgeConfig config = TinyModel.config();
    config = config.withHttp(config.http().toBuilder().selectors(3).build());
    try (EdgeAgent agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start()) {
      await().atMost(WAIT).until(() -> threadsSelecting() - before == 3);

      assertThat(new HttpTestClient(agent.httpPort()).get("/healthz").status()).isEqualTo(200);
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
    return threadsIn(FrontDoor.class.getName(), "readBody");
  }

  /** Threads of this JVM now waiting in a Jetty selector. */
  private static int threadsSelecting() {
    return threadsIn("org.eclipse.jetty.io.ManagedSelector$SelectorProducer", "select");
  }

  private static int threadsIn(String className, String method) {
    int n = 0;
    for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
      for (StackTraceElement frame : stack) {
        if (frame.getClassName().equals(className) && frame.getMethodName().equals(method)) {
          n++;
          break;
        }
      }
    }
    return n;
  }
}
