package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The read-ahead's hand-over (issue 19): tokens that come slowly, to a reader that waits for each,
 * are pulled by the reader itself after {@link ReadAheadGeneration#DIRECT_AFTER} of them; fast
 * tokens stay on the pump so writers can batch them. The inner generation here paces its tokens
 * like a decoding engine (llama.cpp on the tiny model is too fast to be slow on purpose) and
 * records which thread pulls and closes it.
 */
class ReadAheadGenerationTest {
  private final ExecutorService pumps = Executors.newSingleThreadExecutor(r -> new Thread(r, "pump"));
  private final Phaser readers = new Phaser(1);
  private final String reader = Thread.currentThread().getName();

  @AfterEach
  void stop() {
    pumps.shutdownNow();
  }

  @Test
  void slowTokens_areHandedToTheReader_whoPullsTheRestAndClosesIt() {
    Paced inner = new Paced(60, TimeUnit.MILLISECONDS.toNanos(10));
    ReadAheadGeneration g = ReadAheadGeneration.start(inner::stoppedBy, () -> false, pumps, readers);

    List<String> texts = new ArrayList<>();
    for (String t; (t = g.next()) != null; ) {
      texts.add(t);
    }

    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      expected.add("t" + i);
    }
    assertThat(texts).isEqualTo(expected);
    assertThat(g.completion().completionTokens()).isEqualTo(60);
    assertThat(inner.pullers).startsWith("pump", "pump").endsWith(reader, reader);
    assertThat(inner.closedBy).containsExactly(reader);
    assertThat(readers.getRegisteredParties()).as("the reader left the engine's drain").isEqualTo(1);
    g.close();
    assertThat(inner.closedBy).hasSize(1);
  }

  @Test
  void tokensFasterThanTheReader_stayOnThePump() {
    Paced inner = new Paced(200, 0);
    ReadAheadGeneration g = ReadAheadGeneration.start(inner::stoppedBy, () -> false, pumps, readers);
    await().atMost(Duration.ofSeconds(30)).until(() -> inner.produced.get() == 200); // all queued, unread

    int n = 0;
    while (g.next() != null) {
      n++;
    }

    assertThat(n).isEqualTo(200);
    await().atMost(Duration.ofSeconds(30)).until(() -> inner.closedBy.size() == 1);
    assertThat(inner.pullers).containsOnly("pump");
    assertThat(inner.closedBy).containsExactly("pump");
    assertThat(readers.getRegisteredParties()).isEqualTo(1);
  }

  @Test
  void readerClosingAfterTheHandOver_stopsTheGenerationAtOnce() {
    Paced inner = new Paced(100_000, TimeUnit.MILLISECONDS.toNanos(3));
    ReadAheadGeneration g = ReadAheadGeneration.start(inner::stoppedBy, () -> false, pumps, readers);
    while (!inner.pullers.contains(reader)) {
      assertThat(g.next()).isNotNull();
    }
    assertThat(readers.getRegisteredParties()).as("the reader holds the engine's drain").isEqualTo(2);

    g.close();

    assertThat(inner.closedBy).containsExactly(reader);
    assertThat(readers.getRegisteredParties()).isEqualTo(1);
  }

  @Test
  void noHandOver_onceTheEngineCloses() {
    readers.arriveAndDeregister(); // what LlamaEngine.close() does
    Paced inner = new Paced(12, TimeUnit.MILLISECONDS.toNanos(5));
    ReadAheadGeneration g = ReadAheadGeneration.start(inner::stoppedBy, () -> false, pumps, readers);

    int n = 0;
    while (g.next() != null) {
      n++;
    }

    assertThat(n).isEqualTo(12);
    assertThat(inner.pullers).containsOnly("pump");
  }

  /** Decodes one token every {@code gapNanos} (at least), recording who pulls and who closes it. */
  private static final class Paced implements Generation {
    final List<String> pullers = new CopyOnWriteArrayList<>();
    final List<String> closedBy = new CopyOnWriteArrayList<>();
    private final int tokens;
    private final long gapNanos;
    private final AtomicInteger produced = new AtomicInteger();
    private volatile BooleanSupplier stop = () -> false;

    Paced(int tokens, long gapNanos) {
      this.tokens = tokens;
      this.gapNanos = gapNanos;
    }

    /** What the engine's starter does: the inner generation polls the outer's stop check. */
    Generation stoppedBy(BooleanSupplier stop) {
      this.stop = stop;
      return this;
    }

    @Override
    public String next() {
      pullers.add(Thread.currentThread().getName());
      if (stop.getAsBoolean()) {
        close();
        throw new CancellationException("stopped");
      }
      if (produced.get() == tokens) {
        return null;
      }
      long until = System.nanoTime() + gapNanos;
      for (long left = gapNanos; left > 0; left = until - System.nanoTime()) {
        LockSupport.parkNanos(left); // decoding
      }
      return "t" + produced.getAndIncrement();
    }

    @Override
    public Completion completion() {
      return new Completion(FinishReason.LENGTH, 3, tokens);
    }

    @Override
    public void close() {
      closedBy.add(Thread.currentThread().getName());
    }
  }
}
