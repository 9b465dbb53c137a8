package io.infermesh.models.jinja;

/**
 * One token of a template: literal text, the start or end of a tag, or a piece of an expression.
 *
 * @param kind what it is
 * @param text the text (the literal text, a name, an operator, a string literal's value)
 * @param line the 1-based line it starts on
 */
record Token(Kind kind, String text, int line) {
  enum Kind {
    TEXT,
    VAR_START,
    VAR_END,
    BLOCK_START,
    BLOCK_END,
    NAME,
    STRING,
    INT,
    FLOAT,
    OP,
    EOF
  }

  boolean is(Kind k, String s) {
    return kind == k && text.equals(s);
  }

  boolean isName(String s) {
    return is(Kind.NAME, s);
  }

  boolean isOp(String s) {
    return is(Kind.OP, s);
  }
}
