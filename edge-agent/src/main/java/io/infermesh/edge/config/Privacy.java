package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.privacy.Detector;
import io.infermesh.edge.privacy.Detectors;
import io.infermesh.edge.privacy.PrivacyAction;
import io.infermesh.edge.privacy.PrivacyPolicies;
import io.infermesh.edge.privacy.PrivacyPolicy;
import io.infermesh.node.config.ConfigException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The {@code privacy:} section: named policies that say, per detector, whether a value is masked
 * before the request leaves the edge, blocks the request, or keeps it on the edge; and the policy of
 * tenants that name none. Off by default ({@link #NONE}: no detector runs, nothing changes).
 * Each policy is compiled when the section is built, so a bad regex or an unknown detector fails at
 * load naming its key. Immutable.
 *
 * @param policies the named policies, in the file's order
 * @param defaultPolicy the policy of tenants without {@code privacy_policy} (and of anonymous
 *     requests); empty: none
 */
public record Privacy(List<Policy> policies, String defaultPolicy) {
  /** No policies: nothing is detected. */
  public static final Privacy NONE = new Privacy(List.of(), "");

  public Privacy {
    policies = List.copyOf(requireNonNull(policies, "privacy.policies"));
    requireNonNull(defaultPolicy, "privacy.default_policy");
    Set<String> names = new HashSet<>();
    for (int i = 0; i < policies.size(); i++) {
      if (!names.add(policies.get(i).name())) {
        throw new ConfigException("privacy.policies[" + i + "].name", "duplicate policy '" + policies.get(i).name()
            + "'");
      }
    }
    if (!defaultPolicy.isEmpty() && !names.contains(defaultPolicy)) {
      throw new ConfigException("privacy.default_policy", "names policy '" + defaultPolicy
          + "', which privacy.policies does not define; defined: " + names);
    }
  }

  /** Whether any policy applies to some request. */
  public boolean enabled() {
    return !policies.isEmpty();
  }

  /** Whether {@code name} is a defined policy. */
  public boolean defines(String name) {
    return policies.stream().anyMatch(p -> p.name().equals(name));
  }

  /** The runtime policies, with each tenant's ({@code tenant → policy name}) and the default. */
  public PrivacyPolicies compile(Map<String, String> tenantPolicies) {
    PrivacyPolicies.Builder b = PrivacyPolicies.builder();
    policies.forEach(p -> b.policy(p.compiled()));
    tenantPolicies.forEach(b::tenant);
    if (!defaultPolicy.isEmpty()) {
      b.defaultPolicy(defaultPolicy);
    }
    return b.build();
  }

  /**
   * One named policy ({@code privacy.policies[i]}).
   *
   * @param name what tenants name in {@code privacy_policy}
   * @param actions detector kind → action, for the built-in detectors ({@code EMAIL}, {@code PHONE},
   *     …) and for the policy's own word lists and regexes; a kind not listed is not looked for
   * @param words the policy's own word-list detectors, kind → words and phrases (case-insensitive)
   * @param regexes the policy's own regex detectors, kind → Java regex (run on a work budget)
   * @param redactOutput {@code output: redact} (the default): answers go through the output filter;
   *     {@code output: pass}: they do not
   */
  public record Policy(String name, Map<String, PrivacyAction> actions, Map<String, List<String>> words,
      Map<String, String> regexes, boolean redactOutput, PrivacyPolicy compiled) {
    /** The kinds of the built-in detectors, in their order. */
    public static final List<String> BUILT_IN_KINDS = Detectors.builtIns().stream().map(Detector::kind).toList();

    /** A policy whose answers are filtered ({@code output: redact}). */
    public Policy(String name, Map<String, PrivacyAction> actions, Map<String, List<String>> words,
        Map<String, String> regexes) {
      this(name, actions, words, regexes, true);
    }

    public Policy(String name, Map<String, PrivacyAction> actions, Map<String, List<String>> words,
        Map<String, String> regexes, boolean redactOutput) {
      this(name, actions, words, regexes, redactOutput, compile(name, actions, words, regexes, redactOutput));
    }

    public Policy {
      actions = Map.copyOf(actions);
      words = Map.copyOf(words);
      regexes = Map.copyOf(regexes);
      requireNonNull(compiled, "compiled");
    }

    private static PrivacyPolicy compile(String name, Map<String, PrivacyAction> actions,
        Map<String, List<String>> words, Map<String, String> regexes, boolean redactOutput) {
      if (name == null || name.isBlank()) {
        throw new ConfigException("privacy.policies.name", "must be set");
      }
      Map<String, Detector> byKind = new LinkedHashMap<>();
      Detectors.builtIns().forEach(d -> byKind.put(d.kind(), d));
      List<Detector> own = new ArrayList<>();
      try {
        words.forEach((kind, list) -> own.add(Detectors.words(kind, list)));
      } catch (IllegalArgumentException e) { // a bad kind or an empty list
        throw new ConfigException("privacy.policies.words", "policy '" + name + "': " + e.getMessage(), e);
      }
      try {
        regexes.forEach((kind, regex) -> own.add(Detectors.regex(kind, regex)));
      } catch (IllegalArgumentException e) { // a bad kind or regex
        throw new ConfigException("privacy.policies.regexes", "policy '" + name + "': " + e.getMessage(), e);
      }
      Map<String, Detector> custom = own.stream().collect(Collectors.toMap(Detector::kind, Function.identity()));
      PrivacyPolicy.Builder policy = PrivacyPolicy.builder(name).redactOutput(redactOutput);
      // policy's own detectors first: a tenant's word beats a built-in's overlapping match
      for (Detector d : own) {
        PrivacyAction action = actions.get(d.kind());
        if (action == null) {
          throw new ConfigException(words.containsKey(d.kind()) ? "privacy.policies.words" : "privacy.policies.regexes",
              "policy '" + name + "': detector " + d.kind() + " has no action (mask, block or local_only)");
        }
        policy.detector(d, action);
      }
      for (Map.Entry<String, Detector> builtIn : byKind.entrySet()) {
        PrivacyAction action = actions.get(builtIn.getKey());
        if (action != null && !custom.containsKey(builtIn.getKey())) {
          policy.detector(builtIn.getValue(), action);
        }
      }
      for (Map.Entry<String, PrivacyAction> a : actions.entrySet()) {
        String kind = a.getKey();
        if (!byKind.containsKey(kind) && !custom.containsKey(kind)) {
          throw new ConfigException("privacy.policies." + a.getValue().name().toLowerCase(Locale.ROOT),
              "policy '" + name + "': unknown detector " + kind
              + "; built in: " + BUILT_IN_KINDS + ", or define it under words or regexes");
        }
      }
      return policy.build();
    }
  }
}
