package io.infermesh.models.jinja;

import io.infermesh.models.jinja.Token.Kind;
import java.util.List;

/** A cursor over a template's tokens, shared by the statement and expression parsers. Not thread-safe. */
final class Tokens {
  private final List<Token> tokens;
  private int at;

  Tokens(List<Token> tokens) {
    this.tokens = tokens;
  }

  /** The token {@code ahead} places past the current one (the last, EOF, when past the end). */
  Token peek(int ahead) {
    return tokens.get(Math.min(at + ahead, tokens.size() - 1));
  }

  Token peek() {
    return tokens.get(at);
  }

  Token next() {
    Token t = tokens.get(at);
    if (t.kind() != Kind.EOF) {
      at++;
    }
    return t;
  }

  boolean acceptOp(String op) {
    if (peek().isOp(op)) {
      next();
      return true;
    }
    return false;
  }

  void expectOp(String op) {
    if (!acceptOp(op)) {
      throw JinjaException.at(peek().line(), "expected '" + op + "', got '" + peek().text() + "'");
    }
  }

  Token expect(Kind kind, String what) {
    Token t = next();
    if (t.kind() != kind) {
      throw JinjaException.at(t.line(), "expected " + what + ", got '" + t.text() + "'");
    }
    return t;
  }
}
