package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Applies a {@link PrivacyPolicy} to the texts of one request: every message's content, tool-call
 * arguments, or a prompt, passed together so that one value gets one placeholder across all of them.
 *
 * <p>Per text: every detector runs; overlapping matches are settled by rule order (an earlier rule's
 * match claims its chars, a later overlapping one is dropped), then each surviving match is counted
 * and acted on: {@code block} throws {@link SensitiveDataBlockedException} naming the kind, {@code
 * local_only} marks the result, {@code mask} replaces the value with {@code <KIND_N>} — N counts the
 * kind's distinct values from 1 in this request. Placeholders hold only {@code < > A-Z 0-9 _}, so
 * masking inside a JSON string (tool-call arguments) leaves valid JSON: no detector matches a quote.
 *
 * <p>A placeholder that a client wrote itself is restored to a value of the same request at most:
 * the map holds nothing from other requests.
 *
 * <p>Immutable and thread-safe; the work per request is linear in its text.
 */
public final class Masker {
  private final PrivacyPolicy policy;
  private final Map<String, PrivacyAction> actions;
  private final Map<String, Integer> rank;

  private Masker(PrivacyPolicy policy) {
    this.policy = requireNonNull(policy, "policy");
    Map<String, PrivacyAction> a = new HashMap<>();
    Map<String, Integer> r = new HashMap<>();
    for (PrivacyPolicy.Rule rule : policy.rules()) {
      a.put(rule.detector().kind(), rule.action());
      r.put(rule.detector().kind(), r.size());
    }
    this.actions = Map.copyOf(a);
    this.rank = Map.copyOf(r);
  }

  public static Masker of(PrivacyPolicy policy) {
    return new Masker(policy);
  }

  /** The policy applied. */
  public PrivacyPolicy policy() {
    return policy;
  }

  /**
   * Masks {@code texts} as one request.
   *
   * @throws SensitiveDataBlockedException when a {@code block} detector matches, or a detector ran
   *     out of its work budget (fail closed); the message names the kind, never the value
   */
  public Masked mask(List<String> texts) {
    requireNonNull(texts, "texts");
    Map<String, String> placeholders = new LinkedHashMap<>();
    Map<String, String> byValue = new HashMap<>(); // kind + '\0' + value → placeholder
    Map<String, Integer> perKind = new HashMap<>();
    Map<String, Integer> counts = new TreeMap<>();
    Set<String> localOnly = new LinkedHashSet<>();
    List<String> out = new ArrayList<>(texts.size());
    List<Detector.Match> found = new ArrayList<>();
    for (String text : texts) {
      requireNonNull(text, "text");
      found.clear();
      detectAll(text, found);
      List<Detector.Match> kept = resolveOverlaps(found);
      StringBuilder masked = null;
      int copied = 0;
      for (Detector.Match m : kept) {
        counts.merge(m.kind(), 1, Integer::sum);
        PrivacyAction action = actions.get(m.kind());
        if (action == PrivacyAction.BLOCK) {
          throw new SensitiveDataBlockedException(m.kind(),
              "the request holds " + m.kind() + " data, which policy " + policy.name() + " blocks");
        }
        if (action == PrivacyAction.LOCAL_ONLY) {
          localOnly.add(m.kind());
          continue;
        }
        String value = text.substring(m.start(), m.end());
        String placeholder = byValue.computeIfAbsent(m.kind() + '\0' + value, k -> {
          String p = "<" + m.kind() + "_" + perKind.merge(m.kind(), 1, Integer::sum) + ">";
          placeholders.put(p, value);
          return p;
        });
        if (masked == null) {
          masked = new StringBuilder(text.length());
        }
        masked.append(text, copied, m.start()).append(placeholder);
        copied = m.end();
      }
      out.add(masked == null ? text : masked.append(text, copied, text.length()).toString());
    }
    return new Masked(out, placeholders, counts, localOnly);
  }

  /**
   * Every match in {@code text} that survives overlap resolution, sorted by start (the matches
   * {@link #mask} acts on; {@link AnswerFilter} reads answers with it).
   *
   * @throws SensitiveDataBlockedException when a detector ran out of its work budget
   */
  List<Detector.Match> find(CharSequence text) {
    List<Detector.Match> found = new ArrayList<>();
    detectAll(text, found);
    return resolveOverlaps(found);
  }

  /** The action of {@code kind}'s rule, null when the policy has none. */
  PrivacyAction action(String kind) {
    return actions.get(kind);
  }

  private void detectAll(CharSequence text, List<Detector.Match> found) {
    for (PrivacyPolicy.Rule rule : policy.rules()) {
      int before = found.size();
      try {
        rule.detector().detect(text, found);
      } catch (DetectorBudgetExceededException e) {
        throw new SensitiveDataBlockedException(e.kind(), "detector " + e.kind()
            + " could not finish reading the request within its work budget; refused rather than sent unchecked");
      }
      String kind = rule.detector().kind();
      for (int i = before; i < found.size(); i++) {
        if (!found.get(i).kind().equals(kind)) { // the policy's action and rank are by the detector's kind
          throw new IllegalStateException("detector " + kind + " reported a match of kind " + found.get(i).kind());
        }
      }
    }
  }

  /** Matches that share no char, earlier rules first, then earlier and longer; sorted by start. */
  private List<Detector.Match> resolveOverlaps(List<Detector.Match> found) {
    if (found.isEmpty()) {
      return List.of();
    }
    found.sort(Comparator.<Detector.Match>comparingInt(m -> rank.get(m.kind()))
        .thenComparingInt(Detector.Match::start)
        .thenComparingInt(m -> -m.end()));
    TreeMap<Integer, Detector.Match> kept = new TreeMap<>();
    for (Detector.Match m : found) {
      Map.Entry<Integer, Detector.Match> before = kept.floorEntry(m.start());
      if (before != null && before.getValue().end() > m.start()) {
        continue;
      }
      Map.Entry<Integer, Detector.Match> after = kept.ceilingEntry(m.start());
      if (after != null && after.getKey() < m.end()) {
        continue;
      }
      kept.put(m.start(), m);
    }
    return new ArrayList<>(kept.values());
  }
}
