package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.privacy.Masked;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the tenant's privacy policy found in a request before it was planned: matches per detector
 * kind (for metrics and audit: kinds and counts, never values) and the kinds whose {@code
 * local_only} action keeps the request on the edge. Immutable.
 *
 * @param policy the policy applied ({@code none} when the edge has none)
 * @param counts detector kind → matches, whatever the action
 * @param localOnlyKinds the kinds that pin the request to the edge; empty when it may leave
 * @param found the request's texts as the policy masked them (the client's own values, which the
 *     answer filter lets through); empty when nothing was screened. Its {@code toString} shows no value.
 */
record Screening(String policy, Map<String, Integer> counts, Set<String> localOnlyKinds, Optional<Masked> found) {
  /** Nothing looked for, nothing found. */
  static final Screening NONE = new Screening("none", Map.of(), Set.of());

  Screening {
    requireNonNull(policy, "policy");
    counts = Map.copyOf(new TreeMap<>(counts));
    localOnlyKinds = Set.copyOf(localOnlyKinds);
    requireNonNull(found, "found");
  }

  /** Counts and kinds only, without the masked texts. */
  Screening(String policy, Map<String, Integer> counts, Set<String> localOnlyKinds) {
    this(policy, counts, localOnlyKinds, Optional.empty());
  }

  /** Whether the request must not leave the edge. */
  boolean localOnly() {
    return !localOnlyKinds.isEmpty();
  }
}
