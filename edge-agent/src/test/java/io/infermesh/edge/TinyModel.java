package io.infermesh.edge;

import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The tiny edge model (Q8_0, written by {@code models}) and one engine over it, shared by every
 * test class in the JVM: loading llama.cpp once keeps the suite fast on a 2-core machine. The
 * engine is never closed (the JVM's exit frees it).
 */
public final class TinyModel {
  /** Context per request of the shared engine. */
  public static final int CONTEXT = 512;
  /** Slots of the shared engine. */
  public static final int PARALLEL = 2;
  public static final String NAME = "tiny-edge";

  private static LlamaEngine engine;

  private TinyModel() {}

  /** Where test models are written (reused across runs: the writer skips an identical file). */
  public static Path directory() {
    return Path.of("target", "tiny-models").toAbsolutePath();
  }

  /** The tiny edge model file. */
  public static synchronized Path path() {
    try {
      return TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), directory());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The model section tests run with: 1 thread, {@link #CONTEXT} tokens, {@link #PARALLEL} slots. */
  public static EdgeConfig.Model modelConfig() {
    return EdgeConfig.Model.builder().path(path()).name(NAME).contextSize(CONTEXT).threads(1).parallel(PARALLEL)
        .defaultMaxTokens(16).build();
  }

  /** An agent configuration on free ports, loopback, no TLS, for the tiny model. */
  public static EdgeConfig config() {
    return EdgeConfig.defaults()
        .withModel(modelConfig())
        .withHttpPort(0)
        .withGrpcPort(0);
  }

  /** The shared engine, loaded on first use. */
  public static synchronized LlamaEngine engine() {
    if (engine == null) {
      try {
        engine = LlamaEngine.load(modelConfig(), 1);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return engine;
  }
}
