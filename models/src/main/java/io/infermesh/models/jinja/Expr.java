package io.infermesh.models.jinja;

import java.util.List;
import java.util.Map;

/** An expression of a template, as the parser reads it. */
sealed interface Expr {
  /** A string, number, boolean or {@code none}. */
  record Literal(Object value) implements Expr {}

  /** A variable. */
  record Name(String name, int line) implements Expr {}

  /** {@code [a, b]} or {@code (a, b)}: both are lists here (templates never mutate a tuple). */
  record ListOf(List<Expr> items) implements Expr {}

  /** {@code {k: v, …}}. */
  record DictOf(List<Expr> keys, List<Expr> values) implements Expr {}

  /** {@code obj.name}: an attribute first, then an item (Jinja's {@code getattr}). */
  record Attr(Expr obj, String name, int line) implements Expr {}

  /** {@code obj[key]}: an item first, then an attribute. */
  record Item(Expr obj, Expr key, int line) implements Expr {}

  /** {@code obj[start:stop:step]}; absent parts are null. */
  record Slice(Expr obj, Expr start, Expr stop, Expr step, int line) implements Expr {}

  /** {@code fn(args)}. */
  record Call(Expr fn, Args args, int line) implements Expr {}

  /** {@code value | name(args)}. */
  record Filter(Expr value, String name, Args args, int line) implements Expr {}

  /** {@code value is [not] name(args)}. */
  record Test(Expr value, String name, Args args, boolean negated, int line) implements Expr {}

  /** {@code not}, unary {@code -} and {@code +}. */
  record Unary(String op, Expr operand, int line) implements Expr {}

  /** Arithmetic, {@code ~}, {@code and}, {@code or}. */
  record Binary(String op, Expr left, Expr right, int line) implements Expr {}

  /** A chain of comparisons: {@code a < b <= c}, {@code x in y}, {@code x not in y}. */
  record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}

  /** {@code then if cond else otherwise}; {@code otherwise} is null when absent (undefined). */
  record Conditional(Expr cond, Expr then, Expr otherwise) implements Expr {}

  /** Call arguments: positional, then keywords in order. */
  record Args(List<Expr> positional, Map<String, Expr> keywords) {
    static final Args NONE = new Args(List.of(), Map.of());
  }
}
