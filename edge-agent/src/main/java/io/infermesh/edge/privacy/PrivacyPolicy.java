package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One named privacy policy: which detectors run and what each one's matches cause. Detectors keep
 * the order they were added in; it breaks ties when matches of two kinds overlap (the earlier wins).
 *
 * <pre>{@code
 * PrivacyPolicy strict = PrivacyPolicy.builder("strict")
 *     .builtIns(PrivacyAction.MASK)
 *     .action("PRIVATE_KEY", PrivacyAction.BLOCK)
 *     .action("PRC_ID", PrivacyAction.LOCAL_ONLY)
 *     .detector(Detectors.words("CODENAME", List.of("Falcon", "Blue Harbor")), PrivacyAction.MASK)
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class PrivacyPolicy {
  /** A detector with its action. */
  public record Rule(Detector detector, PrivacyAction action) {
    public Rule {
      requireNonNull(detector, "detector");
      requireNonNull(action, "action");
    }
  }

  private final String name;
  private final List<Rule> rules;
  private final boolean redactsOutput;

  private PrivacyPolicy(String name, List<Rule> rules, boolean redactsOutput) {
    this.name = name;
    this.rules = List.copyOf(rules);
    this.redactsOutput = redactsOutput;
  }

  /** A policy that detects nothing. */
  public static PrivacyPolicy none(String name) {
    return builder(name).build();
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** The policy's name (JWT claims and config refer to it). */
  public String name() {
    return name;
  }

  /** The rules, in tie-breaking order. */
  public List<Rule> rules() {
    return rules;
  }

  /**
   * Whether answers go through the output filter ({@link AnswerFilter}): values of masked or blocked
   * kinds that the client did not send redacted; true unless the builder said otherwise.
   */
  public boolean redactsOutput() {
    return redactsOutput;
  }

  @Override
  public String toString() {
    return "PrivacyPolicy[" + name + ", " + rules.size() + " rules]";
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final String name;
    private final Map<String, Rule> rules = new LinkedHashMap<>();
    private boolean redactsOutput = true;

    private Builder(String name) {
      this.name = requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("policy name must not be blank");
      }
    }

    /** Adds every built-in detector ({@link Detectors#builtIns()}) with {@code action}. */
    public Builder builtIns(PrivacyAction action) {
      for (Detector d : Detectors.builtIns()) {
        detector(d, action);
      }
      return this;
    }

    /** Adds {@code detector}, replacing an earlier one of the same kind in its place. */
    public Builder detector(Detector detector, PrivacyAction action) {
      rules.put(detector.kind(), new Rule(detector, action));
      return this;
    }

    /** Changes the action of a detector already added. */
    public Builder action(String kind, PrivacyAction action) {
      Rule rule = rules.get(requireNonNull(kind, "kind"));
      if (rule == null) {
        throw new IllegalArgumentException("policy " + name + " has no detector " + kind + ": add it first");
      }
      rules.put(kind, new Rule(rule.detector(), action));
      return this;
    }

    /** Removes a detector, e.g. a built-in the tenant does not want. */
    public Builder without(String kind) {
      if (rules.remove(requireNonNull(kind, "kind")) == null) {
        throw new IllegalArgumentException("policy " + name + " has no detector " + kind);
      }
      return this;
    }

    /** Whether answers are filtered ({@link PrivacyPolicy#redactsOutput()}); true by default. */
    public Builder redactOutput(boolean redact) {
      this.redactsOutput = redact;
      return this;
    }

    public PrivacyPolicy build() {
      return new PrivacyPolicy(name, new ArrayList<>(rules.values()), redactsOutput);
    }
  }
}
