package io.infermesh.core.bench;

import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.engine.WeightPrecision;
import io.infermesh.core.lifecycle.Placement;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.schedule.Admission;
import io.infermesh.core.schedule.BatchLoop;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.schedule.Priority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The infermesh core as its gRPC server runs a model: {@link ServedModel#load} (the server's loader:
 * checkpoint, scheduler, continuous-batching loop on its own thread) and requests submitted to
 * that loop, without the gRPC hop. Tokens are timed in the loop's listener callbacks.
 */
final class CoreContender implements Contender {
  private static final ServedModel.SchedulingLimits LIMITS = new ServedModel.SchedulingLimits(256, 64, 512, 128, 0,
      16, 512, Duration.ofSeconds(10), false);
  private final ServedModel served;
  private final AtomicLong ids = new AtomicLong();

  private CoreContender(ServedModel served) {
    this.served = served;
  }

  /**
   * Loads {@code gguf} with its weights kept in {@code precision} ({@code engine.dtype}) and
   * {@code threads} engine threads ({@code engine.threads}), prefix cache off.
   */
  static CoreContender load(Path gguf, int threads, WeightPrecision precision) throws Exception {
    DjlRuntime.threads(threads);
    return new CoreContender(ServedModel.load("bench", gguf, "", "", "cpu", precision, 64, LIMITS, Placement.WHOLE,
        r -> new Thread(r, "core-bench-loop"), System::nanoTime, BatchLoop.StepObserver.NONE));
  }

  @Override
  public String name() {
    return "infermesh core";
  }

  @Override
  public DecodeRun run(int[][] prompts, int maxTokens) throws Exception {
    int n = prompts.length;
    long[] first = new long[n];
    long[] end = new long[n];
    int[][] tokens = new int[n][maxTokens];
    int[] counts = new int[n];
    CountDownLatch done = new CountDownLatch(n);
    for (int s = 0; s < n; s++) {
      int stream = s;
      GenerationRequest request = new GenerationRequest("bench-" + ids.incrementAndGet(), prompts[s], maxTokens,
          Priority.NORMAL, SamplingParams.GREEDY, Set.of(), Long.MAX_VALUE);
      Admission a = served.loop().submit(request, new GenerationListener() { // callbacks on the loop's thread
        @Override
        public void onToken(int choice, int token, int index) {
          long now = System.nanoTime();
          if (counts[stream] == 0) {
            first[stream] = now;
          }
          tokens[stream][counts[stream]++] = token;
          end[stream] = now;
        }

        @Override
        public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
          done.countDown();
        }
      });
      if (a instanceof Admission.Rejected r) {
        throw new IllegalStateException("the core rejected a benchmark stream: " + r.reason());
      }
    }
    if (!done.await(10, TimeUnit.MINUTES)) {
      throw new IllegalStateException("the core did not finish " + n + " streams in 10 minutes");
    }
    for (int s = 0; s < n; s++) {
      tokens[s] = Arrays.copyOf(tokens[s], counts[s]);
    }
    return DecodeRun.of(first, end, tokens);
  }

  /** {@code tokens} detokenized by the model's own tokenizer. */
  String text(int[] tokens) {
    return served.tokenizer().decode(tokens);
  }

  @Override
  public void close() {
    served.close();
  }
}
