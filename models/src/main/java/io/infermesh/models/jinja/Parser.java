package io.infermesh.models.jinja;

import io.infermesh.models.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads tokens into statements (their expressions: {@link ExpressionParser}). A statement this
 * engine does not run ({@code include}, {@code extends}, {@code call}, …) is refused by name.
 */
final class Parser {
  private final Tokens tokens;
  private final ExpressionParser expressions;

  private Parser(List<Token> tokens) {
    this.tokens = new Tokens(tokens);
    this.expressions = new ExpressionParser(this.tokens);
  }

  static List<Node> parse(String source) {
    Parser p = new Parser(Lexer.tokenize(source));
    List<Node> body = p.body(Set.of());
    if (p.tokens.peek().kind() != Kind.EOF) {
      throw JinjaException.at(p.tokens.peek().line(), "unexpected '" + p.peekBlockName() + "'");
    }
    return body;
  }

  /** Statements up to (not including) a block tag named in {@code ends}, or the end. */
  private List<Node> body(Set<String> ends) {
    List<Node> nodes = new ArrayList<>();
    while (true) {
      Token t = tokens.peek();
      switch (t.kind()) {
        case EOF -> {
          if (!ends.isEmpty()) {
            throw JinjaException.at(t.line(), "missing one of " + ends.stream().sorted().toList());
          }
          return nodes;
        }
        case TEXT -> {
          tokens.next();
          nodes.add(new Node.Text(t.text()));
        }
        case VAR_START -> {
          tokens.next();
          nodes.add(new Node.Output(expressions.tuple()));
          tokens.expect(Kind.VAR_END, "}}");
        }
        case BLOCK_START -> {
          if (ends.contains(peekBlockName())) {
            return nodes;
          }
          tokens.next();
          nodes.add(statement());
        }
        default -> throw JinjaException.at(t.line(), "unexpected '" + t.text() + "'");
      }
    }
  }

  /** The statement name after the {@code {%} at the current position. */
  private String peekBlockName() {
    return tokens.peek(1).text();
  }

  private Node statement() {
    Token name = tokens.expect(Kind.NAME, "a statement");
    return switch (name.text()) {
      case "if" -> ifStatement();
      case "for" -> forStatement(name.line());
      case "set" -> setStatement(name.line());
      case "macro" -> macro();
      case "break" -> {
        endTag();
        yield new Node.Break();
      }
      case "continue" -> {
        endTag();
        yield new Node.Continue();
      }
      case "generation" -> { // Hugging Face's AssistantTracker: marks assistant text, renders it as is
        endTag();
        List<Node> body = body(Set.of("endgeneration"));
        closeBlock("endgeneration");
        yield new Node.If(List.of(new Expr.Literal(true)), List.of(body), List.of());
      }
      default -> throw JinjaException.at(name.line(), "the '" + name.text() + "' statement is not supported");
    };
  }

  private Node ifStatement() {
    List<Expr> conditions = new ArrayList<>();
    List<List<Node>> bodies = new ArrayList<>();
    conditions.add(expressions.tuple());
    endTag();
    bodies.add(body(Set.of("elif", "else", "endif")));
    List<Node> otherwise = List.of();
    while (true) {
      tokens.next(); // BLOCK_START
      String which = tokens.next().text();
      if (which.equals("elif")) {
        conditions.add(expressions.tuple());
        endTag();
        bodies.add(body(Set.of("elif", "else", "endif")));
      } else if (which.equals("else")) {
        endTag();
        otherwise = body(Set.of("endif"));
      } else {
        endTag();
        return new Node.If(conditions, bodies, otherwise);
      }
    }
  }

  private Node forStatement(int line) {
    List<String> targets = new ArrayList<>();
    do {
      targets.add(tokens.expect(Kind.NAME, "a loop variable").text());
    } while (tokens.acceptOp(","));
    if (!tokens.next().isName("in")) {
      throw JinjaException.at(line, "expected 'in' in a for statement");
    }
    Expr iterable = expressions.orExpr();
    if (tokens.peek().isOp(",")) {
      List<Expr> items = new ArrayList<>(List.of(iterable));
      while (tokens.acceptOp(",")) {
        items.add(expressions.orExpr());
      }
      iterable = new Expr.ListOf(items);
    }
    Expr filter = null;
    if (tokens.peek().isName("if")) {
      tokens.next();
      filter = expressions.orExpr();
    }
    if (tokens.peek().isName("recursive")) {
      throw JinjaException.at(line, "recursive loops are not supported");
    }
    endTag();
    List<Node> body = body(Set.of("else", "endfor"));
    List<Node> otherwise = List.of();
    tokens.next();
    if (tokens.next().isName("else")) {
      endTag();
      otherwise = body(Set.of("endfor"));
      closeBlock("endfor");
    } else {
      endTag();
    }
    return new Node.For(targets, iterable, filter, body, otherwise, line);
  }

  private Node setStatement(int line) {
    String first = tokens.expect(Kind.NAME, "a variable").text();
    if (tokens.acceptOp(".")) {
      String attr = tokens.expect(Kind.NAME, "an attribute").text();
      tokens.expectOp("=");
      Expr value = expressions.tuple();
      endTag();
      return new Node.SetAttr(first, attr, value, line);
    }
    List<String> targets = new ArrayList<>(List.of(first));
    while (tokens.acceptOp(",")) {
      targets.add(tokens.expect(Kind.NAME, "a variable").text());
    }
    if (tokens.peek().kind() == Kind.BLOCK_END && targets.size() == 1) {
      tokens.next();
      List<Node> body = body(Set.of("endset"));
      closeBlock("endset");
      return new Node.SetBlock(first, body);
    }
    tokens.expectOp("=");
    Expr value = expressions.tuple();
    endTag();
    return new Node.Set(targets, value, line);
  }

  private Node macro() {
    String name = tokens.expect(Kind.NAME, "a macro name").text();
    tokens.expectOp("(");
    List<String> params = new ArrayList<>();
    List<Expr> defaults = new ArrayList<>();
    while (!tokens.acceptOp(")")) {
      params.add(tokens.expect(Kind.NAME, "a parameter").text());
      if (tokens.acceptOp("=")) {
        defaults.add(expressions.expression());
      } else if (!defaults.isEmpty()) {
        throw JinjaException.at(tokens.peek().line(), "a parameter without default follows one with a default");
      }
      if (!tokens.peek().isOp(")")) {
        tokens.expectOp(",");
      }
    }
    endTag();
    List<Node> body = body(Set.of("endmacro"));
    closeBlock("endmacro");
    return new Node.Macro(name, params, defaults, body);
  }

  private void closeBlock(String name) {
    tokens.expect(Kind.BLOCK_START, "{%");
    if (!tokens.next().isName(name)) {
      throw JinjaException.at(tokens.peek().line(), "expected " + name);
    }
    endTag();
  }

  private void endTag() {
    tokens.expect(Kind.BLOCK_END, "%}");
  }
}
