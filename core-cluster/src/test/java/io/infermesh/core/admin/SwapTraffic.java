package io.infermesh.core.admin;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongPredicate;

/**
 * Continuous generation traffic for swap tests and the swap benchmark: {@code threads} clients,
 * each sending one greedy request after another until {@link #close()}, recording when each
 * started and ended, which version answered (ServedBy.model_version of the first and last chunk,
 * which must agree) and how it ended.
 */
final class SwapTraffic implements AutoCloseable {
  /** One request: nanoTime at start and end, the version that served it, and its status. */
  record Answer(long startNanos, long endNanos, String version, Status status) {
    boolean ok() {
      return status.isOk();
    }

    double millis() {
      return (endNanos - startNanos) / 1e6;
    }
  }

  private final List<Answer> answers = new ArrayList<>(); // guarded by itself
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<Thread> threads = new ArrayList<>();

  SwapTraffic(InferenceGrpc.InferenceBlockingStub stub, int clients, int maxTokens) {
    for (int i = 0; i < clients; i++) {
      int client = i;
      Thread t = new Thread(() -> run(stub, client, maxTokens), "swap-traffic-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void run(InferenceGrpc.InferenceBlockingStub stub, int client, int maxTokens) {
    int n = 0;
    while (running.get()) {
      GenerateRequest r = GenerateRequest.newBuilder().setRequestId("traffic-" + client + "-" + n++)
          .setPrompt("Once upon a time " + client)
          .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(0f)).build();
      long start = System.nanoTime();
      String version = "";
      Status status = Status.OK;
      try {
        Iterator<GenerateChunk> it = stub.withDeadlineAfter(60, TimeUnit.SECONDS).generate(r);
        String first = null;
        String last = null;
        while (it.hasNext()) {
          GenerateChunk c = it.next();
          if (c.hasServedBy()) {
            last = c.getServedBy().getModelVersion();
            first = first == null ? last : first;
          }
        }
        version = first == null ? "" : first;
        if (first == null || !first.equals(last)) {
          status = Status.INTERNAL.withDescription("served by " + first + " then " + last);
        }
      } catch (StatusRuntimeException e) {
        status = e.getStatus();
      }
      synchronized (answers) {
        answers.add(new Answer(start, System.nanoTime(), version, status));
      }
    }
  }

  /** Every answer so far. */
  List<Answer> answers() {
    synchronized (answers) {
      return List.copyOf(answers);
    }
  }

  /** How many answers so far came from {@code version}. */
  long servedBy(String version) {
    return answers().stream().filter(a -> a.ok() && a.version().equals(version)).count();
  }

  /** The answers whose start satisfies {@code start}. */
  List<Answer> startedWhen(LongPredicate start) {
    return answers().stream().filter(a -> start.test(a.startNanos())).toList();
  }

  /** Latency percentile {@code p} (0..100) in milliseconds of {@code of}; NaN when empty. */
  static double percentile(List<Answer> of, double p) {
    if (of.isEmpty()) {
      return Double.NaN;
    }
    double[] ms = of.stream().mapToDouble(Answer::millis).toArray();
    Arrays.sort(ms);
    return ms[(int) Math.min(ms.length - 1, Math.ceil(p / 100 * ms.length) - 1)];
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(60));
    }
  }
}
