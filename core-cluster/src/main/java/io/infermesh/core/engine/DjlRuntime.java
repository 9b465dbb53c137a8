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
   * Sets PyTorch's intra-op threads for the whole process ({@code threads} ≤ 0 keeps its default,
   * one per core). On a small model at batch 1 one thread is usually fastest: each call is too
   * short to share, and waking a pool costs more than it saves.
   */
  public static synchronized void threads(int threads) {
    engine();
    if (threads > 0 && ai.djl.pytorch.jni.JniUtils.getNumThreads() != threads) {
      ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
    }
  }

  static NDManager newManager(Device device) {
    return NDManager.newBaseManager(device, engine().getEngineName());
  }
}
