package io.infermesh.edge.engine;

import io.infermesh.models.ModelDigests;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** SHA-256 of model files, and the check against an expected digest. Stateless; thread-safe. */
public final class ModelDigest {
  private ModelDigest() {}

  /** The SHA-256 of {@code file} in lower-case hex. */
  public static String sha256(Path file) throws IOException {
    return ModelDigests.sha256(file);
  }

  /**
   * Hashes {@code file} and compares the result with {@code expected} when given.
   *
   * @return the file's digest
   * @throws ModelLoadException naming both digests when they differ
   */
  public static String verify(Path file, Optional<String> expected) throws IOException {
    String actual = sha256(file);
    if (expected.isPresent() && !expected.get().equalsIgnoreCase(actual)) {
      throw new ModelLoadException("model.sha256: " + file + " has SHA-256 " + actual + " but " + expected.get()
          + " was expected (a corrupt or different file?)");
    }
    return actual;
  }
}
