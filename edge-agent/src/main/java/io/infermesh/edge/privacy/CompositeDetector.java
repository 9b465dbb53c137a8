package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** One kind found by several patterns (IPv4 and IPv6; vendor API keys and generic secrets). */
final class CompositeDetector implements Detector {
  private final String kind;
  private final List<Detector> parts;

  CompositeDetector(String kind, List<Detector> parts) {
    this.kind = requireNonNull(kind, "kind");
    this.parts = List.copyOf(parts);
  }

  @Override
  public String kind() {
    return kind;
  }

  @Override
  public void detect(CharSequence text, List<Match> out) {
    for (Detector d : parts) {
      d.detect(text, out);
    }
  }

  @Override
  public String toString() {
    return kind;
  }
}
