package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The cascade's judgement of a local draft, by self-consistency: short samples of the same request
 * that agree suggest the edge model knows the answer; samples that diverge suggest it is guessing
 * (log-probabilities would be the direct measure, but the llama.cpp binding does not give them).
 * Agreement is the mean over all pairs of samples of the overlap (Jaccard) of their word sets,
 * case-insensitive, in [0, 1]. Immutable; thread-safe; no I/O.
 */
public final class CascadePolicy {
  /** Reason when the draft is kept. */
  public static final String ACCEPTED = "cascade-accepted";
  /** Reason when the draft is judged too weak and the request escalates with it. */
  public static final String REJECTED = "cascade-rejected";

  private final double minAgreement;

  private CascadePolicy(double minAgreement) {
    this.minAgreement = minAgreement;
  }

  /**
   * A policy that keeps drafts whose samples agree at least {@code minAgreement}.
   *
   * @throws IllegalArgumentException when {@code minAgreement} is outside [0, 1]
   */
  public static CascadePolicy of(double minAgreement) {
    if (!(minAgreement >= 0 && minAgreement <= 1)) {
      throw new IllegalArgumentException("minAgreement must be in [0, 1], got " + minAgreement);
    }
    return new CascadePolicy(minAgreement);
  }

  /** Whether the cascade may second-guess {@code decision}: only the edge chosen for low difficulty. */
  public static boolean applies(RouteDecision decision) {
    return decision.route() == Route.EDGE && decision.reason().equals("difficulty-low");
  }

  /**
   * Keeps the draft ({@code edge}, {@value #ACCEPTED}) or escalates it ({@code core}, {@value
   * #REJECTED}) by the agreement of {@code samples}.
   */
  public RouteDecision judge(List<String> samples) {
    return agreement(samples) >= minAgreement ? new RouteDecision(Route.EDGE, ACCEPTED)
        : new RouteDecision(Route.CORE, REJECTED);
  }

  /** Mean pairwise word-set overlap of {@code samples}; 1 for fewer than two, 1 for two empty ones. */
  public static double agreement(List<String> samples) {
    requireNonNull(samples, "samples");
    List<Set<String>> words = samples.stream().map(CascadePolicy::words).toList();
    double sum = 0;
    int pairs = 0;
    for (int i = 0; i < words.size(); i++) {
      for (int j = i + 1; j < words.size(); j++) {
        sum += jaccard(words.get(i), words.get(j));
        pairs++;
      }
    }
    return pairs == 0 ? 1 : sum / pairs;
  }

  private static double jaccard(Set<String> a, Set<String> b) {
    if (a.isEmpty() && b.isEmpty()) {
      return 1;
    }
    Set<String> union = new HashSet<>(a);
    union.addAll(b);
    int common = 0;
    for (String w : a) {
      if (b.contains(w)) {
        common++;
      }
    }
    return common / (double) union.size();
  }

  private static Set<String> words(String text) {
    Set<String> out = new HashSet<>();
    for (String w : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "CascadePolicy{minAgreement=" + minAgreement + "}";
  }
}
