package io.infermesh.edge.privacy;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What {@link Masker#mask} made of a request's texts.
 *
 * <p>{@link #placeholders()} holds the originals: keep it in the request's memory only. {@link
 * #toString()} prints kinds and counts, never values, so a result can be logged. Immutable.
 */
public final class Masked {
  private final List<String> texts;
  private final Map<String, String> placeholders;
  private final Map<String, Integer> counts;
  private final Set<String> localOnlyKinds;

  Masked(List<String> texts, Map<String, String> placeholders, Map<String, Integer> counts,
      Set<String> localOnlyKinds) {
    this.texts = List.copyOf(texts);
    this.placeholders = Map.copyOf(placeholders);
    this.counts = Collections.unmodifiableMap(new TreeMap<>(counts));
    this.localOnlyKinds = Set.copyOf(localOnlyKinds);
  }

  /** The texts in the order given, masked where the policy says {@code mask}. */
  public List<String> texts() {
    return texts;
  }

  /** Placeholder ({@code <EMAIL_1>}) → original value; empty when nothing was masked. */
  public Map<String, String> placeholders() {
    return placeholders;
  }

  /** Kind → matches found, whatever the action (for audit: kinds and counts, never values). */
  public Map<String, Integer> counts() {
    return counts;
  }

  /** Whether a {@code local_only} detector matched: the request must not leave the edge. */
  public boolean localOnly() {
    return !localOnlyKinds.isEmpty();
  }

  /** The kinds whose {@code local_only} action pinned the request to the edge. */
  public Set<String> localOnlyKinds() {
    return localOnlyKinds;
  }

  /** A restorer for the answer to these texts. */
  public AnswerRestorer restorer() {
    return AnswerRestorer.of(placeholders);
  }

  @Override
  public String toString() {
    return "Masked[texts=" + texts.size() + ", counts=" + counts + ", localOnly=" + localOnlyKinds + "]";
  }
}
