package io.infermesh.core.lifecycle;

import ai.djl.Device;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.HfCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.TensorSource;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A verified model file, open for loading: a GGUF file or a Hugging Face checkpoint directory, its
 * digest and its shape. Closing it releases the file (the loaded engine keeps its own copy of the
 * weights). Not thread-safe.
 */
final class Checkpoint implements AutoCloseable {
  private final Path path;
  private final String sha256;
  private final TensorSource source;
  private final LlamaConfig config;

  private Checkpoint(Path path, String sha256, TensorSource source, LlamaConfig config) {
    this.path = path;
    this.sha256 = sha256;
    this.source = source;
    this.config = config;
  }

  /**
   * Checks {@code path} against {@code expectedSha256} (empty: no check) and opens it.
   *
   * @throws IOException with a one-line reason for a missing, corrupt, truncated or unsupported model
   */
  static Checkpoint open(Path path, String expectedSha256) throws IOException {
    String digest = ModelFiles.verify(path, expectedSha256);
    if (Files.isDirectory(path)) {
      HfCheckpoint hf = HfCheckpoint.open(path);
      return new Checkpoint(path, digest, hf, hf.config());
    }
    GgufCheckpoint gguf = GgufCheckpoint.open(path);
    return new Checkpoint(path, digest, gguf, gguf.config());
  }

  /** Lower-case hex SHA-256 of the model file (or of model.safetensors / its index). */
  String sha256() {
    return sha256;
  }

  LlamaConfig config() {
    return config;
  }

  /** The tokenizer the checkpoint ships: GGUF metadata, or {@code tokenizer.json}. */
  Tokenizer tokenizer() throws IOException {
    if (source instanceof GgufCheckpoint gguf) {
      try {
        return Tokenizer.fromGguf(gguf.file().metadata());
      } catch (IllegalArgumentException e) {
        throw new IOException(path + ": unsupported tokenizer: " + e.getMessage(), e);
      }
    }
    return HfTokenizer.load(path, config);
  }

  /** Loads the layers in {@code range} with a KV cache of {@code kvSlots} positions. */
  LlamaModel load(LayerRange range, Device device, int kvSlots) throws IOException {
    try {
      return LlamaModel.load(config, range, source, device, kvSlots);
    } catch (OutOfMemoryError e) {
      throw new IOException(path + ": not enough memory to load the model (" + e.getMessage() + ")", e);
    }
  }

  @Override
  public void close() throws IOException {
    source.close();
  }
}
