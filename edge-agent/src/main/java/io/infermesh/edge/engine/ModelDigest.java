package io.infermesh.edge.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/** SHA-256 of model files, and the check against an expected digest. Stateless; thread-safe. */
public final class ModelDigest {
  private ModelDigest() {}

  /** The SHA-256 of {@code file} in lower-case hex. */
  public static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    byte[] buffer = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
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
