package io.infermesh.core.lifecycle;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.HfCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.TensorSource;
import io.infermesh.core.engine.WeightPrecision;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

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

  /**
   * The Jinja chat template the checkpoint ships: {@code tokenizer.chat_template} in GGUF, {@code
   * chat_template} in {@code tokenizer_config.json} (a string, or the entry named {@code default}
   * of a list).
   */
  Optional<String> chatTemplateSource() throws IOException {
    if (source instanceof GgufCheckpoint gguf) {
      return gguf.file().metadata().findString("tokenizer.chat_template");
    }
    return hfChatTemplate(path.resolve("tokenizer_config.json"));
  }

  /** {@code chat_template} of a Hugging Face {@code tokenizer_config.json}, when the file has one. */
  static Optional<String> hfChatTemplate(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    JsonNode template;
    try {
      template = new ObjectMapper().readTree(file.toFile()).path("chat_template");
    } catch (IOException e) {
      throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
    }
    if (template.isTextual()) {
      return Optional.of(template.asText());
    }
    for (JsonNode named : template) {
      if ("default".equals(named.path("name").asText())) {
        return Optional.of(named.path("template").asText());
      }
    }
    return Optional.empty();
  }

  /** Loads the layers in {@code range}, linear weights in {@code precision}, with a KV cache of {@code kvSlots} positions. */
  LlamaModel load(LayerRange range, Device device, WeightPrecision precision, int kvSlots) throws IOException {
    try {
      return LlamaModel.load(config, range, source, device, kvSlots, precision);
    } catch (OutOfMemoryError e) {
      throw new IOException(path + ": not enough memory to load the model (" + e.getMessage() + ")", e);
    }
  }

  @Override
  public void close() throws IOException {
    source.close();
  }
}
