package io.infermesh.core.engine;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs native set-up work on a thread that ends with it. PyTorch's CPU ops run on OpenMP (libgomp),
 * and every thread that runs a parallel op keeps its own OpenMP team for as long as it lives: a
 * model loaded on a thread that stays alive (a {@code main} that then waits, a gRPC or admin
 * thread) leaves a team behind beside the batch loop's, the process then has more OpenMP threads
 * than CPUs, libgomp stops spinning between parallel regions, and every one of a step's hundreds
 * of ops waits for a sleeping worker to wake. A thread that exits frees its team.
 */
final class NativeLoadThread {
  private NativeLoadThread() {}

  interface Work<T> {
    T run() throws IOException;
  }

  /**
   * {@code work}'s result, computed on a new thread that has ended when this returns. An interrupt
   * does not abandon the work (its result would leak): it is waited for and the interrupt status
   * is set again on return.
   */
  static <T> T call(String name, Work<T> work) throws IOException {
    AtomicReference<T> result = new AtomicReference<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        result.set(work.run());
      } catch (IOException | RuntimeException | Error e) {
        failure.set(e);
      }
    }, name);
    t.start();
    boolean interrupted = false;
    while (t.isAlive()) {
      try {
        t.join();
      } catch (InterruptedException e) {
        interrupted = true; // the work cannot be stopped half way; its result (a model) must not leak
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable f = failure.get();
    if (f instanceof IOException io) {
      throw io;
    } else if (f instanceof RuntimeException re) {
      throw re;
    } else if (f instanceof Error err) {
      throw err;
    }
    return result.get();
  }
}
