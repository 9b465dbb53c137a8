package io.infermesh.models.tiny;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Loads GGUF files into llama.cpp (de.kherud:llama 4.2.0) the way this machine needs: one thread,
 * CPU only. Never calls {@code setNProbs} (it aborts the JVM).
 *
 * <p>llama.cpp logs to the native stderr, not through {@code LlamaModel.setLogger}, so {@link
 * #load} silences it and {@link #loadLogged} sends it to a file as well, from which the warnings
 * are read back.
 *
 * <p>Thread-safe.
 */
public final class LlamaCpp {
  /** llama.cpp says this on every load; it is advice, not a problem with the model. */
  private static final String WARM_UP_NOTICE = "warming up the model with an empty run";

  private LlamaCpp() {}

  /** A loaded model and the warnings and errors llama.cpp logged while loading it. */
  public record Loaded(LlamaModel model, List<String> warnings) implements AutoCloseable {
    @Override
    public void close() {
      model.close();
    }
  }

  /** Loads quietly: llama.cpp's log is disabled, {@link Loaded#warnings()} is empty. */
  public static Loaded load(Path gguf, int contextSize) {
    return new Loaded(new LlamaModel(parameters(gguf, contextSize).disableLog()), List.of());
  }

  /** Loads with llama.cpp's log written to {@code logFile} (and stderr); returns its W and E lines. */
  public static Loaded loadLogged(Path gguf, int contextSize, Path logFile) {
    LlamaModel model = new LlamaModel(parameters(gguf, contextSize).setLogFile(logFile.toString()).enableLogPrefix());
    try {
      List<String> warnings = Files.readAllLines(logFile).stream()
          .filter(line -> line.startsWith("W ") || line.startsWith("E "))
          .filter(line -> !line.contains(WARM_UP_NOTICE))
          .collect(Collectors.toList());
      return new Loaded(model, warnings);
    } catch (IOException e) {
      model.close();
      throw new UncheckedIOException(e);
    }
  }

  private static ModelParameters parameters(Path gguf, int contextSize) {
    return new ModelParameters()
        .setModel(gguf.toString())
        .setThreads(1)
        .setThreadsBatch(1)
        .setCtxSize(contextSize)
        .setParallel(1)
        .setSeed(1);
  }
}
