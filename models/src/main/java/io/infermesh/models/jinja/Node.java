package io.infermesh.models.jinja;

import java.util.List;

/** A statement of a template, as the parser reads it. */
sealed interface Node {
  /** Literal text. */
  record Text(String text) implements Node {}

  /** {@code {{ expr }}}. */
  record Output(Expr expr) implements Node {}

  /** {@code if}/{@code elif}…/{@code else}: the first true condition's body runs, else {@code otherwise}. */
  record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise) implements Node {}

  /**
   * {@code for targets in iterable [if filter]}: {@code otherwise} runs when nothing was iterated.
   * {@code filter} is null when absent.
   */
  record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise, int line)
      implements Node {}

  /** {@code set a = …} or {@code set a, b = …}. */
  record Set(List<String> targets, Expr value, int line) implements Node {}

  /** {@code set ns.attr = …}, on a namespace. */
  record SetAttr(String target, String attr, Expr value, int line) implements Node {}

  /** {@code set name}…{@code endset}: the body's output as a string. */
  record SetBlock(String target, List<Node> body) implements Node {}

  /** {@code macro name(params)}; {@code defaults} holds the trailing parameters' defaults. */
  record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

  /** {@code break} (the loopcontrols extension, which Hugging Face enables). */
  record Break() implements Node {}

  /** {@code continue}. */
  record Continue() implements Node {}
}
