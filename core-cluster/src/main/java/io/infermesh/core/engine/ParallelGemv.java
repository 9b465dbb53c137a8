package io.infermesh.core.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code x W} on several CPU cores at once, the engine's own thread split of its weight products.
 * libtorch's float32 BLAS (MKL, linked into it) runs a one-row product on the calling thread
 * whatever PyTorch's intra-op thread count (measured on the 200M shape: no OpenMP worker gets any
 * CPU time at one row), so a batch-1 decode step, almost all such products, kept one core busy
 * while its weights streamed from memory at one core's bandwidth; and from two rows on, the
 * intra-op pool's OpenMP barriers stall whenever the machine has more runnable threads than cores
 * ({@link DjlRuntime#threads}).
 *
 * <p>Here the output columns of each registered weight are cut into {@code parts} blocks (views of
 * the weight, nothing copied); block 0 runs on the caller, block {@code i} on helper thread
 * {@code i}, and the results are concatenated. Each output element is still one dot product over
 * the whole input by the same BLAS kernel, so the result equals the unsplit product bit for bit
 * (tested). Every helper runs PyTorch with one intra-op thread, so none of them starts an OpenMP
 * team of its own (a second team beside the caller's is the trap {@link NativeLoadThread}
 * describes).
 *
 * <p>Thread-safe: the helpers take one block at a time, in the order callers submit them (the
 * batch loop and {@link LlamaModel#embed} may call at once). The helper threads are daemons and end
 * on {@link #close}.
 */
final class ParallelGemv implements AutoCloseable {
  private static final long ALIGN = 16; // columns: 64-byte blocks of float32

  private final int parts;
  private final List<ExecutorService> helpers;
  private final Map<NDArray, NDArray[]> blocks; // weight view (in, out) → its (in, out_i) column blocks

  private ParallelGemv(int parts, Map<NDArray, NDArray[]> blocks) {
    this.parts = parts;
    this.blocks = Collections.unmodifiableMap(blocks);
    List<ExecutorService> h = new ArrayList<>();
    for (int i = 1; i < parts; i++) {
      String name = "infermesh-gemv-" + i;
      h.add(Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(() -> {
          JniUtils.setNumThreads(1); // this thread's OpenMP and MKL settings: never a team here
          r.run();
        }, name);
        t.setDaemon(true);
        return t;
      }));
    }
    this.helpers = List.copyOf(h);
  }

  /**
   * Splits {@code weights} ({@code (in, out)} views, as {@link LlamaWeights} keeps them)
   * {@code parts} ways; {@code parts ≤ 1} splits nothing.
   */
  static ParallelGemv of(int parts, List<NDArray> weights) {
    Map<NDArray, NDArray[]> blocks = new IdentityHashMap<>();
    if (parts > 1) {
      for (NDArray w : weights) {
        long out = w.getShape().get(1);
        long width = (out / parts + ALIGN - 1) / ALIGN * ALIGN;
        if (width * (parts - 1) >= out) {
          continue; // too narrow to give every part a block
        }
        NDArray[] b = new NDArray[parts];
        for (int i = 0; i < parts; i++) {
          b[i] = Torch.slice(w, 1, i * width, i == parts - 1 ? out : (i + 1) * width); // (in, out_i), a view
        }
        blocks.put(w, b);
      }
    }
    return new ParallelGemv(blocks.isEmpty() ? 1 : parts, blocks);
  }

  /** How many ways a product is split (1: never). */
  int parts() {
    return parts;
  }

  /** {@code x @ w}: {@code x (rows, in)}, {@code w (in, out)}; split when {@code w} is registered. */
  NDArray matMul(NDArray x, NDArray w) {
    NDArray[] b = blocks.get(w);
    if (b == null) {
      return x.matMul(w);
    }
    List<Future<NDArray>> others = new ArrayList<>(parts - 1);
    for (int i = 1; i < parts; i++) {
      NDArray block = b[i];
      others.add(helpers.get(i - 1).submit(() -> x.matMul(block)));
    }
    NDList out = new NDList(parts);
    RuntimeException failure = null;
    try {
      out.add(x.matMul(b[0]));
    } catch (RuntimeException e) {
      failure = e;
    }
    boolean interrupted = false;
    for (Future<NDArray> f : others) { // every block is waited for: each reads x, which the caller frees after
      while (true) {
        try {
          out.add(f.get());
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          failure = failure != null ? failure
              : e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw failure;
    }
    return NDArrays.concat(out, 1); // (rows, out)
  }

  @Override
  public void close() {
    helpers.forEach(ExecutorService::shutdown);
  }
}
