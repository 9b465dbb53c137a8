package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.infermesh.edge.route.Embedder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The edge model in llama.cpp's embedding mode, for the learned difficulty scorer: a second,
 * small context over the same GGUF file. Thread-safe: calls are serialized on this object
 * (llama.cpp's embedding slot is single).
 */
public final class LlamaEmbedder implements Embedder, AutoCloseable {
  private final LlamaModel model;
  private final int maxChars;

  private LlamaEmbedder(LlamaModel model, int maxChars) {
    this.model = model;
    this.maxChars = maxChars;
  }

  /**
   * Loads {@code path} for embeddings with a context of {@code contextSize} tokens; longer inputs
   * are cut to about that many characters times three.
   *
   * @throws ModelLoadException when llama.cpp cannot load the file
   */
  public static LlamaEmbedder load(Path path, int contextSize, int threads) throws IOException {
    requireNonNull(path, "path");
    if (!Files.isRegularFile(path)) {
      throw new ModelLoadException("routing: no model file for embeddings at " + path);
    }
    NativeLibraryDirectory.claim(); // before the binding's loader runs
    ModelParameters params = new ModelParameters()
        .setModel(path.toString())
        .setCtxSize(contextSize)
        .setThreads(threads)
        .setThreadsBatch(threads)
        .enableEmbedding()
        .disableLog();
    try {
      return new LlamaEmbedder(NativeModelLoader.load(params, "routing"), contextSize * 3);
    } catch (RuntimeException e) {
      throw new ModelLoadException("routing: llama.cpp cannot load " + path + " for embeddings: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized float[] embed(String text) {
    String input = text.length() > maxChars ? text.substring(0, maxChars) : text;
    return model.embed(input.isEmpty() ? " " : input);
  }

  /**
   * The embedding of all of {@code text}, uncut: the caller has checked that it fits the context
   * (the {@code /v1/embeddings} path, where cutting an input would change the answer).
   */
  public synchronized float[] embedWhole(String text) {
    return model.embed(text);
  }

  @Override
  public synchronized void close() {
    model.close();
  }
}
