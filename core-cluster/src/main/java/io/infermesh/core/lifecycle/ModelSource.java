package io.infermesh.core.lifecycle;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a model version comes from and what it must be: its GGUF file or checkpoint directory, the
 * SHA-256 of every weight file (by {@link WeightFiles#names file name}), and its version label
 * (empty: derived from the digest). Kept for the version a node serves and for the one before it,
 * so a rollback reloads exactly what was verified. Immutable.
 *
 * @param path GGUF file or Hugging Face checkpoint directory, absolute on this node
 * @param sha256 expected lower-case hex digest per weight file; empty means "not checked" (a
 *     model loaded from configuration without {@code model.sha256})
 * @param version label answers carry; empty for {@code sha256:<first 12 hex digits>}
 * @param requested the path as the operator gave it (relative paths resolve on each pipeline
 *     stage against its own model directory)
 */
public record ModelSource(Path path, Map<String, String> sha256, String version, String requested) {
  public ModelSource {
    requireNonNull(path, "path");
    requireNonNull(version, "version");
    requireNonNull(requested, "requested");
    sha256 = Map.copyOf(new TreeMap<>(requireNonNull(sha256, "sha256")));
  }

  /** A source requested by its absolute path. */
  public ModelSource(Path path, Map<String, String> sha256, String version) {
    this(path, sha256, version, path.toString());
  }
}
