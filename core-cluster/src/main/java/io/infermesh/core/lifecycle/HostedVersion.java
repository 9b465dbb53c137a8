package io.infermesh.core.lifecycle;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * A loaded model version on a node: the model, where it came from, and the digest of each of its
 * weight files as verified when it loaded. Immutable (the model itself is thread-safe).
 */
public record HostedVersion(ServedModel model, ModelSource source, Map<String, String> weightDigests) {
  public HostedVersion {
    requireNonNull(model, "model");
    requireNonNull(source, "source");
    weightDigests = Map.copyOf(requireNonNull(weightDigests, "weightDigests"));
  }

  /** What to reload for a rollback: the same path, pinned to the digests that were verified. */
  public ModelSource pinned() {
    return new ModelSource(source.path(), weightDigests, model.version(), source.requested());
  }
}
