package io.infermesh.edge.engine;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a llama.cpp model is created: on a short-lived platform thread that exits as soon
 * as the load is done.
 *
 * <p>Why: loading runs a warm-up decode on the calling thread, and libgomp gives every thread that
 * runs a parallel region a team of {@code threads - 1} workers that lives as long as that thread.
 * A caller that stays alive (a request thread, a test thread, a benchmark's main) keeps its team
 * beside the team of llama.cpp's own decode thread; the process then has more OpenMP threads than
 * CPUs and libgomp stops spinning at its barriers: on a quiet machine decode falls to about half;
 * on an overloaded one it can even rise (edge-agent README). Either way the load, not the operator,
 * would pick the wait policy. When the loading thread exits, libgomp frees its team.
 * The binding's decode thread is created by the loader, so it and its workers carry the loader's
 * name ({@value #THREAD_NAME}) in thread dumps and {@code /proc/self/task/*}{@code /comm}.
 *
 * <p>Thread-safe; each call starts its own thread.
 */
final class NativeModelLoader {
  /** The name of every loading thread (15 characters at most: Linux's limit for a native name). */
  static final String THREAD_NAME = "llama-loader";
  private static final Logger log = LoggerFactory.getLogger(NativeModelLoader.class);

  private NativeModelLoader() {}

  /**
   * Creates {@code new LlamaModel(params)} on a fresh thread and waits for it.
   *
   * @throws RuntimeException whatever the binding threw (its {@code LlamaException} is a
   *     package-private {@code RuntimeException}), rethrown on the caller's thread
   * @throws ModelLoadException when the caller is interrupted while waiting; the load goes on and
   *     its model is closed when it ends, and the caller's interrupt flag is set again
   */
  static LlamaModel load(ModelParameters params, String what) throws ModelLoadException {
    AtomicReference<LlamaModel> model = new AtomicReference<>();
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    Thread loader = new Thread(() -> {
      try {
        model.set(new LlamaModel(params));
      } catch (RuntimeException e) {
        failure.set(e);
      }
    }, THREAD_NAME);
    loader.setDaemon(true);
    loader.start();
    try {
      loader.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closeWhenLoaded(loader, model, what);
      throw new ModelLoadException(what + ": interrupted while llama.cpp was loading the model", e);
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    try {
      NativeLibraryDirectory.checkLoaded();
    } catch (IllegalStateException e) {
      model.get().close();
      throw e;
    }
    return model.get();
  }

  /** An abandoned load must not leak its model: close it once the loader is done. */
  private static void closeWhenLoaded(Thread loader, AtomicReference<LlamaModel> model, String what) {
    Thread closer = new Thread(() -> {
      try {
        loader.join();
      } catch (InterruptedException e) {
        return; // the JVM is going down
      }
      LlamaModel abandoned = model.get();
      if (abandoned != null) {
        abandoned.close();
        log.info("{}: closed a model whose load was abandoned", what);
      }
    }, "llama-load-abandoned");
    closer.setDaemon(true);
    closer.start();
  }
}
