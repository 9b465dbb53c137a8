package io.infermesh.core.bench;

import ai.djl.Device;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.lifecycle.ModelRunner;
import io.infermesh.core.schedule.BatchLoop;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.schedule.Scheduler;
import io.infermesh.core.schedule.SchedulerConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Prefix caching on a tiny F32 Llama (256 wide, 4 layers, context 2048; PyTorch, 1 intra-op
 * thread, CPU), through the batch loop. TTFT: a 1,024-token shared prefix + a 32-token question,
 * cold (prefix never seen: a fresh prefix each round) against warm (the prefix cached by an earlier
 * request with another question). Throughput: 16 streams sharing a fresh prefix, each with its own
 * question and 32 generated tokens, submitted at once, with the cache off, on (the streams share what
 * the first ones publish while the later ones wait for the token budget) and on with the prefix
 * already cached. Each figure is the median of the rounds, with the tokens the engine computed. Not
 * part of {@code verify} (the name does not end in Test). Run: {@code ./mvnw -o -pl core-cluster
 * test -Dtest=PrefixCacheBenchmark -Dsurefire.failIfNoSpecifiedTests=false}; lines start with PREFIX.
 */
class PrefixCacheBenchmark {
  private static final int PREFIX = 1024;
  private static final int QUESTION = 32;
  private static final int MAX_TOKENS = 32;
  private static final int STREAMS = 16;
  private static final int TTFT_ROUNDS = 7;
  private static final int THROUGHPUT_ROUNDS = 3;
  private static final SchedulerConfig SCHEDULING = new SchedulerConfig(256, 64, 512, 128, 2048, 16, 2048,
      Duration.ofSeconds(10), Duration.ofSeconds(1));
  private static final AtomicLong COMPUTED = new AtomicLong();

  private static int vocab;
  private static int next = 1; // distinct token streams for prefixes and questions

  @Test
  void ttftAndThroughput() throws Exception {
    System.setProperty("ai.djl.offline", "true");
    DjlRuntime.threads(1);
    TinyModelSpec spec = new TinyModelSpec("core-2k", VocabularyKind.BPE, 256, 4, 8, 2, 768, 2048, GgmlType.F32, 77);
    Path file = TinyModels.write(spec, Files.createTempDirectory("prefix-bench"));
    try (GgufCheckpoint cp = GgufCheckpoint.open(file);
        LlamaModel model = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(),
            SCHEDULING.kvBlocks() * SCHEDULING.kvBlockSize())) {
      vocab = cp.config().vocabSize();
      model.forward(ForwardBatch.contiguous(tokens(64), 0)); // warm-up
      System.out.printf("PREFIX tiny F32 (%d layers, dim %d, vocab %d), prefix %d + question %d tokens, max_tokens %d,"
          + " kv blocks of %d, 1 PyTorch thread%n", cp.config().layers(), cp.config().dim(), vocab, PREFIX, QUESTION,
          MAX_TOKENS, SCHEDULING.kvBlockSize());
      ttft(model);
      throughput(model);
    }
  }

  private static void ttft(LlamaModel model) throws Exception {
    BatchLoop loop = loop(model, true);
    try {
      measureTtft(loop, tokens(PREFIX)); // warm-up
      long[] cold = new long[TTFT_ROUNDS];
      long[] warm = new long[TTFT_ROUNDS];
      long coldTokens = 0;
      long warmTokens = 0;
      for (int round = 0; round < TTFT_ROUNDS; round++) {
        int[] prefix = tokens(PREFIX);
        long before = COMPUTED.get();
        cold[round] = measureTtft(loop, prefix);
        coldTokens = COMPUTED.get() - before;
        before = COMPUTED.get();
        warm[round] = measureTtft(loop, prefix);
        warmTokens = COMPUTED.get() - before;
      }
      double c = median(cold);
      double w = median(warm);
      System.out.printf("PREFIX %-34s %9s %9s %9s %16s%n", "ttft (1 request alone)", "median", "min", "max",
          "tokens computed");
      System.out.printf("PREFIX %-34s %7.1fms %7.1fms %7.1fms %16d%n", "cold (prefix not cached)", c / 1e6,
          min(cold) / 1e6, max(cold) / 1e6, coldTokens);
      System.out.printf("PREFIX %-34s %7.1fms %7.1fms %7.1fms %16d%n", "warm (prefix cached)", w / 1e6,
          min(warm) / 1e6, max(warm) / 1e6, warmTokens);
      System.out.printf("PREFIX ttft warm speed-up: %.1fx (goal >= 5x)%n", c / w);
    } finally {
      loop.close();
    }
  }

  private static void throughput(LlamaModel model) throws Exception {
    String[] names = {"cache off", "cache on, prefix cold", "cache on, prefix cached"};
    long[][] nanos = new long[names.length][THROUGHPUT_ROUNDS];
    long[] computed = new long[names.length];
    for (int round = -1; round < THROUGHPUT_ROUNDS; round++) { // round -1 warms up
      for (int mode = 0; mode < names.length; mode++) {
        BatchLoop loop = loop(model, mode > 0);
        try {
          int[] prefix = tokens(PREFIX);
          if (mode == 2) {
            await(List.of(submit(loop, "seed", concat(prefix, tokens(QUESTION)), 1)));
          }
          long before = COMPUTED.get();
          long start = System.nanoTime();
          List<CompletableFuture<Long>> all = new ArrayList<>();
          for (int s = 0; s < STREAMS; s++) {
            all.add(submit(loop, "s" + s, concat(prefix, tokens(QUESTION)), MAX_TOKENS));
          }
          await(all);
          if (round >= 0) {
            nanos[mode][round] = System.nanoTime() - start;
            computed[mode] = COMPUTED.get() - before;
          }
        } finally {
          loop.close();
        }
      }
    }
    double off = median(nanos[0]);
    System.out.printf("PREFIX %-34s %9s %12s %16s %9s%n", STREAMS + " streams sharing the prefix", "median",
        "tokens/s", "tokens computed", "vs off");
    for (int mode = 0; mode < names.length; mode++) {
      double m = median(nanos[mode]);
      System.out.printf("PREFIX %-34s %7.1fms %12.1f %16d %8.2fx%n", names[mode], m / 1e6,
          STREAMS * MAX_TOKENS / (m / 1e9), computed[mode], off / m);
    }
  }

  private static BatchLoop loop(LlamaModel model, boolean prefixCache) {
    return new BatchLoop(new Scheduler(SCHEDULING, System::nanoTime, prefixCache), new ModelRunner(model),
        r -> new Thread(r, "bench-loop"), (plan, nanos) -> COMPUTED.addAndGet(plan.tokenCount())).start();
  }

  /** Nanoseconds from submitting the prefix and a fresh question to the first token. */
  private static long measureTtft(BatchLoop loop, int[] prefix) throws Exception {
    long start = System.nanoTime();
    CompletableFuture<Long> first = submit(loop, "ttft" + next, concat(prefix, tokens(QUESTION)), 1);
    return first.get(5, TimeUnit.MINUTES) - start;
  }

  /** Completes with the time of the request's first token once it has finished. */
  private static CompletableFuture<Long> submit(BatchLoop loop, String id, int[] prompt, int maxTokens) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    long[] firstToken = {0};
    loop.submit(new GenerationRequest(id, prompt, maxTokens, Priority.NORMAL, SamplingParams.GREEDY, Set.of(),
        Long.MAX_VALUE), new GenerationListener() {
          @Override
          public void onToken(int choice, int token, int index) {
            if (index == 0) {
              firstToken[0] = System.nanoTime();
            }
          }

          @Override
          public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens,
              boolean last) {
            if (reason == FinishReason.STOP || reason == FinishReason.LENGTH) {
              done.complete(firstToken[0]);
            } else {
              done.completeExceptionally(new IllegalStateException(id + " ended " + reason));
            }
          }
        });
    return done;
  }

  private static void await(List<CompletableFuture<Long>> all) throws Exception {
    for (CompletableFuture<Long> f : all) {
      f.get(5, TimeUnit.MINUTES);
    }
  }

  /** {@code count} tokens no earlier call returned in the same order (never 0..2: BOS/EOS-like ids). */
  private static int[] tokens(int count) {
    int seed = next++;
    return IntStream.range(0, count).map(i -> 3 + (int) ((seed * 7919L + i * 31L + (long) i * i) % (vocab - 3)))
        .toArray();
  }

  private static int[] concat(int[] a, int[] b) {
    return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
  }

  private static double median(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
  }

  private static long min(long[] values) {
    return Arrays.stream(values).min().orElseThrow();
  }

  private static long max(long[] values) {
    return Arrays.stream(values).max().orElseThrow();
  }
}
