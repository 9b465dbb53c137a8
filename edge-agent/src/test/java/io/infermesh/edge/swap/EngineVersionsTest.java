package io.infermesh.edge.swap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The version slots and holds, without sockets or llama.cpp: when an engine is closed, and never before. */
class EngineVersionsTest {
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final EngineVersions versions = new EngineVersions(timer);

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  /** An engine that counts its closes and reports {@code version}. */
  private static final class Counted implements Engine {
    private final FakeEngine engine = new FakeEngine(512, 1);
    private final ModelInfo info;
    final AtomicInteger closes = new AtomicInteger();

    Counted(String version) {
      this.info = new ModelInfo("m", version, version.repeat(64).substring(0, 64), 512, 1, "chatml");
    }

    @Override
    public ModelInfo info() {
      return info;
    }

    @Override
    public Prompt renderChat(List<ChatMessage> messages) {
      return engine.renderChat(messages);
    }

    @Override
    public Prompt rawPrompt(String text) {
      return engine.rawPrompt(text);
    }

    @Override
    public int[] tokenize(String text) {
      return engine.tokenize(text);
    }

    @Override
    public Generation start(Prompt prompt, SamplingParams sampling, BooleanSupplier cancelled) {
      return engine.start(prompt, sampling, cancelled);
    }

    @Override
    public void close() {
      closes.incrementAndGet();
    }
  }

  private static EngineVersions.Source source(Counted e) {
    return new EngineVersions.Source(e, Path.of(e.info().version() + ".gguf"), e.info().sha256(), true);
  }

  @Test
  void swap_closesTheOldEngineOnlyWhenItsLastHoldIsReleased() {
    Counted v1 = new Counted("1");
    Counted v2 = new Counted("2");
    versions.swap(source(v1), Duration.ZERO);
    EngineHold a = versions.acquire().orElseThrow();
    EngineHold b = versions.acquire().orElseThrow();

    assertThat(versions.swap(source(v2), Duration.ofMinutes(1)).orElseThrow().state())
        .isEqualTo(EngineVersions.State.DRAINING);
    assertThat(versions.acquire().orElseThrow().engine()).isSameAs(v2);
    a.release();
    a.release(); // idempotent
    assertThat(v1.closes).hasValue(0);
    assertThat(versions.list()).extracting(EngineVersions.Listed::state).containsExactly(
        EngineVersions.State.SERVING, EngineVersions.State.DRAINING);
    b.release();

    assertThat(v1.closes).hasValue(1);
    assertThat(versions.draining()).isEmpty();
    assertThat(versions.list()).extracting(EngineVersions.Listed::state).containsExactly(
        EngineVersions.State.SERVING, EngineVersions.State.PREVIOUS);
  }

  /**
   * Holds are taken and released without a lock between requests (only a read lock): requests on
   * four threads racing two swaps still never see a closed engine, and every replaced engine is
   * closed exactly once, after its last hold.
   */
  @Test
  void acquireAndRelease_racingSwaps_neverServeAClosedEngine_andCloseEachOldOneOnce() throws Exception {
    Counted v1 = new Counted("1");
    Counted v2 = new Counted("2");
    Counted v3 = new Counted("3");
    versions.swap(source(v1), Duration.ZERO);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger closedWhileHeld = new AtomicInteger();
    AtomicInteger requests = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      threads.add(new Thread(() -> {
        while (!stop.get()) {
          EngineHold hold = versions.acquire().orElseThrow();
          if (((Counted) hold.engine()).closes.get() > 0) {
            closedWhileHeld.incrementAndGet();
          }
          requests.incrementAndGet();
          hold.release();
        }
      }));
    }
    threads.forEach(Thread::start);
    await().atMost(Duration.ofSeconds(30)).until(() -> requests.get() > 10_000);
    versions.swap(source(v2), Duration.ofMinutes(1));
    await().atMost(Duration.ofSeconds(30)).until(() -> versions.draining().isEmpty());
    int before = requests.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> requests.get() > before + 10_000);
    versions.swap(source(v3), Duration.ofMinutes(1));
    await().atMost(Duration.ofSeconds(30)).until(() -> versions.draining().isEmpty());
    stop.set(true);
    for (Thread t : threads) {
      t.join(30_000);
    }

    assertThat(closedWhileHeld).hasValue(0);
    assertThat(v1.closes).hasValue(1);
    assertThat(v2.closes).hasValue(1);
    assertThat(v3.closes).hasValue(0);
    assertThat(versions.list()).extracting(EngineVersions.Listed::inFlight).containsOnly(0);
  }

  @Test
  void swap_whileOneDrains_isRefused_soAtMostTwoEnginesAreLoaded() {
    versions.swap(source(new Counted("1")), Duration.ZERO);
    EngineHold held = versions.acquire().orElseThrow();
    versions.swap(source(new Counted("2")), Duration.ofMinutes(1));

    assertThatThrownBy(() -> versions.swap(source(new Counted("3")), Duration.ZERO))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("still drains");
    held.release();
    versions.swap(source(new Counted("3")), Duration.ZERO);
  }

  @Test
  void drainTimeout_tellsTheHoldersToStop_andTheEngineClosesWhenTheyRelease() {
    Counted v1 = new Counted("1");
    versions.swap(source(v1), Duration.ZERO);
    EngineHold held = versions.acquire().orElseThrow();
    AtomicBoolean stopped = new AtomicBoolean();
    held.onExpiry(() -> stopped.set(true));

    versions.swap(source(new Counted("2")), Duration.ofMillis(1));

    await().atMost(Duration.ofSeconds(30)).untilTrue(stopped);
    assertThat(held.expired()).isTrue();
    assertThat(v1.closes).hasValue(0); // never under a running generation
    held.release();
    assertThat(v1.closes).hasValue(1);
  }

  @Test
  void reactivatePrevious_whileItDrains_servesItAgainWithoutLoading() {
    Counted v1 = new Counted("1");
    Counted v2 = new Counted("2");
    versions.swap(source(v1), Duration.ZERO);
    EngineHold held = versions.acquire().orElseThrow();
    versions.swap(source(v2), Duration.ofMinutes(1));

    EngineVersions.Listed replaced = versions.reactivatePrevious(Duration.ofMinutes(1)).orElseThrow();

    assertThat(replaced.version()).isEqualTo("2");
    assertThat(v2.closes).hasValue(1); // nothing held it
    assertThat(versions.current()).containsSame(v1);
    held.release();
    assertThat(v1.closes).hasValue(0);
    assertThat(versions.reactivatePrevious(Duration.ZERO)).isEmpty(); // "2" is unloaded: the caller reloads it
    assertThat(versions.previous().orElseThrow().version()).isEqualTo("2");
  }

  @Test
  void close_closesOnlyTheEnginesItOwns() {
    Counted shared = new Counted("1");
    versions.swap(new EngineVersions.Source(shared, Path.of("1.gguf"), shared.info().sha256(), false), Duration.ZERO);
    Counted owned = new Counted("2");
    versions.swap(source(owned), Duration.ZERO);

    versions.close();

    assertThat(shared.closes).hasValue(0);
    assertThat(owned.closes).hasValue(1);
    assertThat(versions.acquire()).isEmpty();
  }
}
