package io.infermesh.core.lifecycle;

import io.infermesh.models.ModelDigests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Digests of model files, checked before anything is loaded. */
public final class ModelFiles {
  private ModelFiles() {}

  /**
   * The file whose digest identifies a model: the GGUF file itself, or in a Hugging Face directory
   * {@code model.safetensors.index.json} (sharded) or {@code model.safetensors}.
   */
  public static Path digestTarget(Path model) throws IOException {
    if (Files.isRegularFile(model)) {
      return model;
    }
    if (Files.isDirectory(model)) {
      for (String f : new String[] {"model.safetensors.index.json", "model.safetensors"}) {
        if (Files.isRegularFile(model.resolve(f))) {
          return model.resolve(f);
        }
      }
      throw new IOException(model + ": no model.safetensors or model.safetensors.index.json");
    }
    throw new IOException(model + ": no such model file or directory");
  }

  /** Lower-case hex SHA-256 of {@code file}. */
  public static String sha256(Path file) throws IOException {
    return ModelDigests.sha256(file);
  }

  /**
   * Checks {@code model} against {@code expected} (empty: no check) and returns its digest.
   *
   * @throws IOException naming the file and both digests on a mismatch
   */
  public static String verify(Path model, String expected) throws IOException {
    Path target = digestTarget(model);
    String actual = sha256(target);
    if (!expected.isEmpty() && !expected.equalsIgnoreCase(actual)) {
      throw new IOException(target + ": sha256 is " + actual + " but model.sha256 expects " + expected
          + " (corrupt or wrong file?)");
    }
    return actual;
  }
}
