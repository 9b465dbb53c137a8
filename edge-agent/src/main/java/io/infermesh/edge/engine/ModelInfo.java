package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

/**
 * What is loaded.
 *
 * @param name the name clients use
 * @param version the first 12 hex digits of the file's SHA-256
 * @param sha256 the file's full SHA-256 in hex
 * @param contextSize tokens per request (prompt + completion)
 * @param parallel requests generated at the same time
 * @param chatTemplate the name of the chat template in use (e.g. {@code chatml})
 */
public record ModelInfo(String name, String version, String sha256, int contextSize, int parallel, String chatTemplate) {
  public ModelInfo {
    requireNonNull(name, "name");
    requireNonNull(version, "version");
    requireNonNull(sha256, "sha256");
    requireNonNull(chatTemplate, "chatTemplate");
  }
}
