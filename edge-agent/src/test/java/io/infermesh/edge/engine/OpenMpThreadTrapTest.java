package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The OpenMP thread trap (see {@link NativeModelLoader}): no public load path may run llama.cpp's
 * load on its caller's thread, which outlives the load.
 *
 * <p>How it is seen: Linux names a new thread after the thread that created it, so every native
 * thread born of a load (llama.cpp's decode thread, the OpenMP workers of the loading thread and of
 * the decode thread) carries the loading thread's name in {@code /proc/self/task/*}{@code /comm}.
 * Each check runs on a fresh probe thread with a name of its own and counts the tasks with that
 * name: 1 (the probe itself) when the load ran elsewhere, more when it ran on the probe.
 */
class OpenMpThreadTrapTest {
  private static final int THREADS = 2; // the trap needs a team: at 1 thread libgomp starts no workers

  @Test
  void engineAndEmbedderLoads_neverRunOnTheCallersThread() throws Exception {
    EdgeConfig.Model m = TinyModel.modelConfig().toBuilder().threads(THREADS).parallel(1).build();

    long named = onProbe("omp-probe-pub", () -> {
      try (LlamaEngine engine = LlamaEngine.load(m, THREADS);
          LlamaEmbedder embedder = LlamaEmbedder.load(TinyModel.path(), 128, THREADS)) {
        Prompt prompt = engine.rawPrompt("Once upon a time");
        engine.generate(prompt, new SamplingParams(8, 0f, 1f, 0, OptionalLong.empty(), List.of()), t -> { },
            () -> false);
        embedder.embed("a sentence to embed");
        return tasksNamed("omp-probe-pub");
      }
    });

    assertThat(named).as("native threads named for the thread that called load (itself included)").isEqualTo(1);
  }

  /** The check can fail: the binding called directly on the probe leaves threads named for it. */
  @Test
  void bindingLoadedOnTheCallersThread_leavesThreadsNamedForTheCaller() throws Exception {
    NativeLibraryDirectory.claim();
    ModelParameters params = new ModelParameters().setModel(TinyModel.path().toString()).setCtxSize(128)
        .setThreads(THREADS).setThreadsBatch(THREADS).disableLog();

    long named = onProbe("omp-probe-raw", () -> {
      try (LlamaModel model = new LlamaModel(params)) {
        return tasksNamed("omp-probe-raw");
      }
    });

    assertThat(named).as("the probe, llama.cpp's decode thread and the probe's OpenMP workers")
        .isGreaterThanOrEqualTo(1 + THREADS);
  }

  private static long onProbe(String name, Callable<Long> check) throws Exception {
    CompletableFuture<Long> result = new CompletableFuture<>();
    Thread probe = new Thread(() -> {
      try {
        result.complete(check.call());
      } catch (Exception | Error e) {
        result.completeExceptionally(e);
      }
    }, name);
    probe.setDaemon(true);
    probe.start();
    return result.get(60, TimeUnit.SECONDS);
  }

  /** The threads of this process whose native name is {@code name}. */
  private static long tasksNamed(String name) {
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      return tasks.filter(task -> name.equals(comm(task))).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String comm(Path task) {
    try {
      return Files.readString(task.resolve("comm")).strip();
    } catch (NoSuchFileException e) {
      return ""; // the thread ended while the directory was listed
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
