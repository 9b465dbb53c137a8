package io.infermesh.models.grammar;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A context-free grammar over Unicode code points, in the shape of llama.cpp's GBNF: named rules,
 * each a list of alternatives, each a sequence of literals, character classes and rule references.
 * Repetition is written as right recursion ({@code chars ::= char chars | }), which matchers run in
 * constant stack. No left recursion (the builders never make it). Immutable and thread-safe.
 */
public final class Grammar {
  /** One element of an alternative. */
  public sealed interface Symbol permits Literal, CharClass, Ref {}

  /** Exactly this text. */
  public record Literal(String text) implements Symbol {
    public Literal {
      requireNonNull(text, "text");
      if (text.isEmpty()) {
        throw new IllegalArgumentException("a literal must not be empty");
      }
    }
  }

  /**
   * One code point in (or, {@code negated}, not in) the inclusive ranges {@code [lo0, hi0, lo1, hi1, …]}.
   * A negated class with no ranges matches any code point.
   */
  public record CharClass(boolean negated, int[] ranges) implements Symbol {
    public CharClass {
      requireNonNull(ranges, "ranges");
      if (ranges.length % 2 != 0) {
        throw new IllegalArgumentException("ranges come in lo, hi pairs");
      }
      ranges = ranges.clone();
    }

    @Override
    public int[] ranges() {
      return ranges.clone();
    }

    /** Whether {@code cp} is matched. */
    public boolean matches(int cp) {
      boolean in = false;
      for (int i = 0; i < ranges.length; i += 2) {
        if (cp >= ranges[i] && cp <= ranges[i + 1]) {
          in = true;
          break;
        }
      }
      return in != negated;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof CharClass c && c.negated == negated && Arrays.equals(c.ranges, ranges);
    }

    @Override
    public int hashCode() {
      return Boolean.hashCode(negated) * 31 + Arrays.hashCode(ranges);
    }

    @Override
    public String toString() {
      return (negated ? "[^" : "[") + Arrays.toString(ranges) + "]";
    }
  }

  /** The rule named {@code rule}. */
  public record Ref(String rule) implements Symbol {
    public Ref {
      requireNonNull(rule, "rule");
    }
  }

  private final String root;
  private final Map<String, List<List<Symbol>>> rules;

  private Grammar(String root, Map<String, List<List<Symbol>>> rules) {
    this.root = root;
    this.rules = Collections.unmodifiableMap(rules);
  }

  /** The start rule. */
  public String root() {
    return root;
  }

  /** Rules by name, in the order they were defined; each a list of alternatives. */
  public Map<String, List<List<Symbol>>> rules() {
    return rules;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Grammar g && g.root.equals(root) && g.rules.equals(rules);
  }

  @Override
  public int hashCode() {
    return root.hashCode() * 31 + rules.hashCode();
  }

  @Override
  public String toString() {
    return Gbnf.write(this);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Collects rules; a rule whose alternatives equal an existing rule's is shared instead of added
   * twice. Not thread-safe.
   */
  public static final class Builder {
    private final Map<String, List<List<Symbol>>> rules = new LinkedHashMap<>();
    private final Map<List<List<Symbol>>, String> byBody = new HashMap<>();
    private final Map<String, Integer> counters = new HashMap<>();

    private Builder() {}

    /** Reserves a unique rule name like {@code hint}, to be defined later with {@link #define}. */
    public String reserve(String hint) {
      String base = hint.replaceAll("[^a-zA-Z0-9-]", "-").toLowerCase(Locale.ROOT);
      if (base.isEmpty()) {
        base = "r";
      }
      String name = base;
      while (rules.containsKey(name)) {
        name = base + "-" + counters.merge(base, 1, Integer::sum);
      }
      rules.put(name, null);
      return name;
    }

    /** Defines a reserved rule. */
    public Builder define(String name, List<List<Symbol>> alternatives) {
      if (!rules.containsKey(name) || rules.get(name) != null) {
        throw new IllegalStateException("rule " + name + " is not reserved or already defined");
      }
      List<List<Symbol>> body = copy(alternatives);
      rules.put(name, body);
      byBody.putIfAbsent(body, name);
      return this;
    }

    /** A rule with these alternatives: an existing one with the same body, or a new one named like {@code hint}. */
    public Ref rule(String hint, List<List<Symbol>> alternatives) {
      List<List<Symbol>> body = copy(alternatives);
      String existing = byBody.get(body);
      if (existing != null) {
        return new Ref(existing);
      }
      String name = reserve(hint);
      rules.put(name, body);
      byBody.put(body, name);
      return new Ref(name);
    }

    /** The grammar starting at {@code root}; every reserved rule must be defined. */
    public Grammar build(String root) {
      if (!rules.containsKey(root)) {
        throw new IllegalArgumentException("no rule " + root);
      }
      for (Map.Entry<String, List<List<Symbol>>> e : rules.entrySet()) {
        if (e.getValue() == null) {
          throw new IllegalStateException("rule " + e.getKey() + " was reserved but never defined");
        }
      }
      return new Grammar(root, new LinkedHashMap<>(rules));
    }

    private static List<List<Symbol>> copy(List<List<Symbol>> alternatives) {
      List<List<Symbol>> out = new ArrayList<>(alternatives.size());
      for (List<Symbol> a : alternatives) {
        out.add(List.copyOf(a));
      }
      return List.copyOf(out);
    }
  }

  /** A sequence, for building alternatives. */
  public static List<Symbol> seq(Symbol... symbols) {
    return List.of(symbols);
  }

  /** A literal. */
  public static Literal lit(String text) {
    return new Literal(text);
  }
}
