package io.infermesh.models.jinja;

import io.infermesh.models.jinja.Expr.Args;
import io.infermesh.models.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Reads tokens into statements and expressions with Jinja2's precedence (lowest first): {@code
 * x if c else y}, {@code or}, {@code and}, {@code not}, comparisons, {@code + -}, {@code ~},
 * {@code * / // %}, {@code **}, unary {@code - +}, then postfix ({@code .a}, {@code [k]},
 * calls), filters and tests. A statement this engine does not run ({@code include}, {@code
 * extends}, {@code call}, …) is refused by name.
 */
final class Parser {
  private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");
  private final List<Token> tokens;
  private int at;

  private Parser(List<Token> tokens) {
    this.tokens = tokens;
  }

  static List<Node> parse(String source) {
    Parser p = new Parser(Lexer.tokenize(source));
    List<Node> body = p.body(Set.of());
    if (p.peek().kind() != Kind.EOF) {
      throw JinjaException.at(p.peek().line(), "unexpected '" + p.peekBlockName() + "'");
    }
    return body;
  }

  /** Statements up to (not including) a block tag named in {@code ends}, or the end. */
  private List<Node> body(Set<String> ends) {
    List<Node> nodes = new ArrayList<>();
    while (true) {
      Token t = peek();
      switch (t.kind()) {
        case EOF -> {
          if (!ends.isEmpty()) {
            throw JinjaException.at(t.line(), "missing one of " + ends.stream().sorted().toList());
          }
          return nodes;
        }
        case TEXT -> {
          next();
          nodes.add(new Node.Text(t.text()));
        }
        case VAR_START -> {
          next();
          nodes.add(new Node.Output(tuple()));
          expect(Kind.VAR_END, "}}");
        }
        case BLOCK_START -> {
          if (ends.contains(peekBlockName())) {
            return nodes;
          }
          next();
          nodes.add(statement());
        }
        default -> throw JinjaException.at(t.line(), "unexpected '" + t.text() + "'");
      }
    }
  }

  /** The statement name after the {@code {%} at the current position. */
  private String peekBlockName() {
    return tokens.get(Math.min(at + 1, tokens.size() - 1)).text();
  }

  private Node statement() {
    Token name = expect(Kind.NAME, "a statement");
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
    conditions.add(tuple());
    endTag();
    bodies.add(body(Set.of("elif", "else", "endif")));
    List<Node> otherwise = List.of();
    while (true) {
      next(); // BLOCK_START
      String which = next().text();
      if (which.equals("elif")) {
        conditions.add(tuple());
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
      targets.add(expect(Kind.NAME, "a loop variable").text());
    } while (acceptOp(","));
    if (!next().isName("in")) {
      throw JinjaException.at(line, "expected 'in' in a for statement");
    }
    Expr iterable = orExpr();
    if (peek().isOp(",")) {
      List<Expr> items = new ArrayList<>(List.of(iterable));
      while (acceptOp(",")) {
        items.add(orExpr());
      }
      iterable = new Expr.ListOf(items);
    }
    Expr filter = null;
    if (peek().isName("if")) {
      next();
      filter = orExpr();
    }
    if (peek().isName("recursive")) {
      throw JinjaException.at(line, "recursive loops are not supported");
    }
    endTag();
    List<Node> body = body(Set.of("else", "endfor"));
    List<Node> otherwise = List.of();
    next();
    if (next().isName("else")) {
      endTag();
      otherwise = body(Set.of("endfor"));
      closeBlock("endfor");
    } else {
      endTag();
    }
    return new Node.For(targets, iterable, filter, body, otherwise, line);
  }

  private Node setStatement(int line) {
    String first = expect(Kind.NAME, "a variable").text();
    if (acceptOp(".")) {
      String attr = expect(Kind.NAME, "an attribute").text();
      expectOp("=");
      Expr value = tuple();
      endTag();
      return new Node.SetAttr(first, attr, value, line);
    }
    List<String> targets = new ArrayList<>(List.of(first));
    while (acceptOp(",")) {
      targets.add(expect(Kind.NAME, "a variable").text());
    }
    if (peek().kind() == Kind.BLOCK_END && targets.size() == 1) {
      next();
      List<Node> body = body(Set.of("endset"));
      closeBlock("endset");
      return new Node.SetBlock(first, body);
    }
    expectOp("=");
    Expr value = tuple();
    endTag();
    return new Node.Set(targets, value, line);
  }

  private Node macro() {
    String name = expect(Kind.NAME, "a macro name").text();
    expectOp("(");
    List<String> params = new ArrayList<>();
    List<Expr> defaults = new ArrayList<>();
    while (!acceptOp(")")) {
      params.add(expect(Kind.NAME, "a parameter").text());
      if (acceptOp("=")) {
        defaults.add(expression());
      } else if (!defaults.isEmpty()) {
        throw JinjaException.at(peek().line(), "a parameter without default follows one with a default");
      }
      if (!peek().isOp(")")) {
        expectOp(",");
      }
    }
    endTag();
    List<Node> body = body(Set.of("endmacro"));
    closeBlock("endmacro");
    return new Node.Macro(name, params, defaults, body);
  }

  private void closeBlock(String name) {
    expect(Kind.BLOCK_START, "{%");
    if (!next().isName(name)) {
      throw JinjaException.at(peek().line(), "expected " + name);
    }
    endTag();
  }

  private void endTag() {
    expect(Kind.BLOCK_END, "%}");
  }

  // ---- expressions ----

  /** An expression, or several separated by commas (a tuple). */
  private Expr tuple() {
    Expr first = expression();
    if (!peek().isOp(",")) {
      return first;
    }
    List<Expr> items = new ArrayList<>(List.of(first));
    while (acceptOp(",")) {
      if (peek().kind() == Kind.VAR_END || peek().kind() == Kind.BLOCK_END) {
        break;
      }
      items.add(expression());
    }
    return new Expr.ListOf(items);
  }

  private Expr expression() {
    Expr then = orExpr();
    if (!peek().isName("if")) {
      return then;
    }
    next();
    Expr cond = orExpr();
    Expr otherwise = null;
    if (peek().isName("else")) {
      next();
      otherwise = expression();
    }
    return new Expr.Conditional(cond, then, otherwise);
  }

  private Expr orExpr() {
    return leftAssociative(this::andExpr, Kind.NAME, Set.of("or"));
  }

  private Expr andExpr() {
    return leftAssociative(this::notExpr, Kind.NAME, Set.of("and"));
  }

  /** {@code operand (op operand)*} for the operators {@code ops}, grouped from the left ({@code **} too, as Jinja2). */
  private Expr leftAssociative(Supplier<Expr> operand, Kind kind, Set<String> ops) {
    Expr left = operand.get();
    while (peek().kind() == kind && ops.contains(peek().text())) {
      Token op = next();
      left = new Expr.Binary(op.text(), left, operand.get(), op.line());
    }
    return left;
  }

  private Expr notExpr() {
    if (peek().isName("not")) {
      int line = next().line();
      return new Expr.Unary("not", notExpr(), line);
    }
    return compare();
  }

  private Expr compare() {
    Expr first = sum();
    List<String> ops = new ArrayList<>();
    List<Expr> rest = new ArrayList<>();
    int line = peek().line();
    while (true) {
      Token t = peek();
      if (t.kind() == Kind.OP && COMPARE.contains(t.text())) {
        next();
        ops.add(t.text());
      } else if (t.isName("in")) {
        next();
        ops.add("in");
      } else if (t.isName("not") && tokens.get(at + 1).isName("in")) {
        next();
        next();
        ops.add("not in");
      } else {
        break;
      }
      rest.add(sum());
    }
    return ops.isEmpty() ? first : new Expr.Compare(first, ops, rest, line);
  }

  private Expr sum() {
    return leftAssociative(this::concat, Kind.OP, Set.of("+", "-"));
  }

  private Expr concat() {
    return leftAssociative(this::product, Kind.OP, Set.of("~"));
  }

  private Expr product() {
    return leftAssociative(this::power, Kind.OP, Set.of("*", "/", "//", "%"));
  }

  private Expr power() {
    return leftAssociative(this::unary, Kind.OP, Set.of("**"));
  }

  private Expr unary() {
    if (peek().isOp("-") || peek().isOp("+")) {
      Token op = next();
      return filters(new Expr.Unary(op.text(), unary(), op.line()));
    }
    return filters(postfix(primary()));
  }

  /** Filters ({@code | name(args)}) and tests ({@code is [not] name(args)}) after an operand. */
  private Expr filters(Expr value) {
    while (true) {
      if (peek().isOp("|")) {
        next();
        Token name = expect(Kind.NAME, "a filter name");
        Args args = peek().isOp("(") ? arguments() : Args.NONE;
        value = postfix(new Expr.Filter(value, name.text(), args, name.line()));
      } else if (peek().isName("is")) {
        next();
        boolean negated = false;
        if (peek().isName("not")) {
          next();
          negated = true;
        }
        Token name = next();
        if (name.kind() != Kind.NAME && !(name.kind() == Kind.OP && COMPARE.contains(name.text()))) {
          throw JinjaException.at(name.line(), "expected a test name after 'is'");
        }
        Args args = Args.NONE;
        if (peek().isOp("(")) {
          args = arguments();
        } else if (startsOperand(peek())) {
          args = new Args(List.of(sum()), Map.of());
        }
        value = new Expr.Test(value, name.text(), args, negated, name.line());
      } else {
        return value;
      }
    }
  }

  private static boolean startsOperand(Token t) {
    return switch (t.kind()) {
      case STRING, INT, FLOAT -> true;
      case NAME -> !Set.of("and", "or", "not", "in", "is", "if", "else").contains(t.text());
      case OP -> t.text().equals("(") || t.text().equals("[") || t.text().equals("{");
      default -> false;
    };
  }

  private Expr postfix(Expr value) {
    while (true) {
      Token t = peek();
      if (t.isOp(".")) {
        next();
        Token name = next();
        if (name.kind() != Kind.NAME && name.kind() != Kind.INT) {
          throw JinjaException.at(name.line(), "expected an attribute name after '.'");
        }
        value = name.kind() == Kind.INT ? new Expr.Item(value, new Expr.Literal(Long.parseLong(name.text())),
            name.line()) : new Expr.Attr(value, name.text(), name.line());
      } else if (t.isOp("[")) {
        next();
        value = subscript(value, t.line());
      } else if (t.isOp("(")) {
        value = new Expr.Call(value, arguments(), t.line());
      } else {
        return value;
      }
    }
  }

  private Expr subscript(Expr value, int line) {
    Expr[] parts = new Expr[3];
    int part = 0;
    boolean slice = false;
    while (!acceptOp("]")) {
      if (acceptOp(":")) {
        slice = true;
        part++;
        if (part > 2) {
          throw JinjaException.at(line, "a slice has at most three parts");
        }
      } else {
        parts[part] = expression();
      }
    }
    if (!slice) {
      if (parts[0] == null) {
        throw JinjaException.at(line, "empty subscript");
      }
      return new Expr.Item(value, parts[0], line);
    }
    return new Expr.Slice(value, parts[0], parts[1], parts[2], line);
  }

  private Args arguments() {
    expectOp("(");
    List<Expr> positional = new ArrayList<>();
    Map<String, Expr> keywords = new LinkedHashMap<>();
    while (!acceptOp(")")) {
      if (peek().kind() == Kind.NAME && tokens.get(at + 1).isOp("=")) {
        String key = next().text();
        next();
        keywords.put(key, expression());
      } else {
        if (!keywords.isEmpty()) {
          throw JinjaException.at(peek().line(), "a positional argument follows a keyword argument");
        }
        positional.add(expression());
      }
      if (!peek().isOp(")")) {
        expectOp(",");
      }
    }
    return new Args(positional, keywords);
  }

  private Expr primary() {
    Token t = next();
    switch (t.kind()) {
      case STRING -> {
        StringBuilder s = new StringBuilder(t.text());
        while (peek().kind() == Kind.STRING) { // adjacent literals join, as in Python
          s.append(next().text());
        }
        return new Expr.Literal(s.toString());
      }
      case INT -> {
        return new Expr.Literal(Long.parseLong(t.text()));
      }
      case FLOAT -> {
        return new Expr.Literal(Double.parseDouble(t.text()));
      }
      case NAME -> {
        return switch (t.text()) {
          case "true", "True" -> new Expr.Literal(true);
          case "false", "False" -> new Expr.Literal(false);
          case "none", "None" -> new Expr.Literal(null);
          default -> new Expr.Name(t.text(), t.line());
        };
      }
      case OP -> {
        switch (t.text()) {
          case "(" -> {
            if (acceptOp(")")) {
              return new Expr.ListOf(List.of());
            }
            Expr inner = expression();
            if (acceptOp(")")) {
              return inner;
            }
            List<Expr> items = new ArrayList<>(List.of(inner));
            while (acceptOp(",")) {
              if (peek().isOp(")")) {
                break;
              }
              items.add(expression());
            }
            expectOp(")");
            return new Expr.ListOf(items);
          }
          case "[" -> {
            List<Expr> items = new ArrayList<>();
            while (!acceptOp("]")) {
              items.add(expression());
              if (!peek().isOp("]")) {
                expectOp(",");
              }
            }
            return new Expr.ListOf(items);
          }
          case "{" -> {
            List<Expr> keys = new ArrayList<>();
            List<Expr> values = new ArrayList<>();
            while (!acceptOp("}")) {
              keys.add(expression());
              expectOp(":");
              values.add(expression());
              if (!peek().isOp("}")) {
                expectOp(",");
              }
            }
            return new Expr.DictOf(keys, values);
          }
          default -> { }
        }
      }
      default -> { }
    }
    throw JinjaException.at(t.line(), "unexpected '" + (t.kind() == Kind.VAR_END ? "}}"
        : t.kind() == Kind.BLOCK_END ? "%}" : t.text()) + "'");
  }

  private Token peek() {
    return tokens.get(at);
  }

  private Token next() {
    Token t = tokens.get(at);
    if (t.kind() != Kind.EOF) {
      at++;
    }
    return t;
  }

  private boolean acceptOp(String op) {
    if (peek().isOp(op)) {
      next();
      return true;
    }
    return false;
  }

  private void expectOp(String op) {
    if (!acceptOp(op)) {
      throw JinjaException.at(peek().line(), "expected '" + op + "', got '" + peek().text() + "'");
    }
  }

  private Token expect(Kind kind, String what) {
    Token t = next();
    if (t.kind() != kind) {
      throw JinjaException.at(t.line(), "expected " + what + ", got '" + t.text() + "'");
    }
    return t;
  }
}
