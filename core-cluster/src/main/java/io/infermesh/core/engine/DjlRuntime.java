package io.infermesh.core.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.util.Locale;

/**
 * Starts DJL's PyTorch engine the way the mesh runs it: offline (the CPU natives come from the
 * {@code pytorch-native-cpu} Maven artifact, nothing is downloaded at run time), and on the device
 * the configuration asks for. Thread-safe.
 */
public final class DjlRuntime {
  private static final String ENGINE = "PyTorch";
  private static volatile int computeThreads = 1;

  private DjlRuntime() {}

  /** The PyTorch engine, loading its natives on first use. */
  public static synchronized Engine engine() {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    return Engine.getEngine(ENGINE);
  }

  /**
   * Resolves a device name: {@code cpu}, {@code cuda} / {@code gpu} (the first GPU),
   * {@code cuda:N}, or {@code auto} (the first GPU when PyTorch sees one, else the CPU).
   *
   * @throws IllegalArgumentException for an unknown name or a GPU that is not there
   */
  public static Device device(String name) {
    String n = name == null ? "auto" : name.trim().toLowerCase(Locale.ROOT);
    Engine engine = engine();
    int gpus = engine.getGpuCount();
    if (n.equals("auto")) {
      return gpus > 0 ? Device.gpu() : Device.cpu();
    }
    if (n.equals("cpu")) {
      return Device.cpu();
    }
    int id;
    if (n.equals("cuda") || n.equals("gpu")) {
      id = 0;
    } else if (n.startsWith("cuda:") || n.startsWith("gpu:")) {
      try {
        id = Integer.parseInt(n.substring(n.indexOf(':') + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("device: bad GPU index in '" + name + "'");
      }
    } else {
      throw new IllegalArgumentException("device must be auto, cpu, cuda or cuda:N, got '" + name + "'");
    }
    if (id >= gpus) {
      throw new IllegalArgumentException("device: " + name + " requested but PyTorch sees " + gpus
          + " GPU(s); put a CUDA pytorch-native artifact on the class path or use cpu");
    }
    return Device.gpu(id);
  }

  /**
   * Sets how many CPU threads the engine computes with ({@code threads} ≤ 0: one per core). A
   * model loaded afterwards splits each of its weight products across that many threads of its
   * own ({@link ParallelGemv}), and PyTorch's intra-op pool is set to one thread for the process:
   * libtorch's BLAS runs a one-row product on the caller alone whatever the pool's size, and the
   * pool's OpenMP barriers, paid by every parallel op of a step, turn into waits for descheduled
   * workers whenever the machine has more runnable threads than cores (measured on the 200M shape
   * at load 12–21 on 2 cores: a batch-1 step took 5× the wall time and 6× the CPU of the split
   * one). The rest of a step (norms, RoPE, attention) then runs on the calling thread.
   */
  public static synchronized void threads(int threads) {
    engine();
    int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    if (ai.djl.pytorch.jni.JniUtils.getNumThreads() != 1) {
      ai.djl.pytorch.jni.JniUtils.setNumThreads(1); // threads started from now on begin with one, too
    }
    computeThreads = n;
  }

  /**
   * The threads a model loaded now splits its products across: the last {@link #threads} value,
   * or 1 when it was never called (PyTorch's own intra-op pool then does what it does).
   */
  static int computeThreads() {
    return computeThreads;
  }

  static NDManager newManager(Device device) {
    return NDManager.newBaseManager(device, engine().getEngineName());
  }
}
