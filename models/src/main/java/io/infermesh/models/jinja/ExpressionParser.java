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
 * Reads expressions with Jinja2's precedence (lowest first): {@code x if c else y}, {@code or},
 * {@code and}, {@code not}, comparisons, {@code + -}, {@code ~}, {@code * / // %}, {@code **},
 * unary {@code - +}, then postfix ({@code .a}, {@code [k]}, calls), filters and tests. Not
 * thread-safe.
 */
final class ExpressionParser {
  private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");
  private final Tokens tokens;

  ExpressionParser(Tokens tokens) {
    this.tokens = tokens;
  }

  /** An expression, or several separated by commas (a tuple). */
  Expr tuple() {
    Expr first = expression();
    if (!tokens.peek().isOp(",")) {
      return first;
    }
    List<Expr> items = new ArrayList<>(List.of(first));
    while (tokens.acceptOp(",")) {
      if (tokens.peek().kind() == Kind.VAR_END || tokens.peek().kind() == Kind.BLOCK_END) {
        break;
      }
      items.add(expression());
    }
    return new Expr.ListOf(items);
  }

  Expr expression() {
    Expr then = orExpr();
    if (!tokens.peek().isName("if")) {
      return then;
    }
    tokens.next();
    Expr cond = orExpr();
    Expr otherwise = null;
    if (tokens.peek().isName("else")) {
      tokens.next();
      otherwise = expression();
    }
    return new Expr.Conditional(cond, then, otherwise);
  }

  Expr orExpr() {
    return leftAssociative(this::andExpr, Kind.NAME, Set.of("or"));
  }

  private Expr andExpr() {
    return leftAssociative(this::notExpr, Kind.NAME, Set.of("and"));
  }

  /** {@code operand (op operand)*} for the operators {@code ops}, grouped from the left ({@code **} too, as Jinja2). */
  private Expr leftAssociative(Supplier<Expr> operand, Kind kind, Set<String> ops) {
    Expr left = operand.get();
    while (tokens.peek().kind() == kind && ops.contains(tokens.peek().text())) {
      Token op = tokens.next();
      left = new Expr.Binary(op.text(), left, operand.get(), op.line());
    }
    return left;
  }

  private Expr notExpr() {
    if (tokens.peek().isName("not")) {
      int line = tokens.next().line();
      return new Expr.Unary("not", notExpr(), line);
    }
    return compare();
  }

  private Expr compare() {
    Expr first = sum();
    List<String> ops = new ArrayList<>();
    List<Expr> rest = new ArrayList<>();
    int line = tokens.peek().line();
    while (true) {
      Token t = tokens.peek();
      if (t.kind() == Kind.OP && COMPARE.contains(t.text())) {
        tokens.next();
        ops.add(t.text());
      } else if (t.isName("in")) {
        tokens.next();
        ops.add("in");
      } else if (t.isName("not") && tokens.peek(1).isName("in")) {
        tokens.next();
        tokens.next();
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
    if (tokens.peek().isOp("-") || tokens.peek().isOp("+")) {
      Token op = tokens.next();
      return filters(new Expr.Unary(op.text(), unary(), op.line()));
    }
    return filters(postfix(primary()));
  }

  /** Filters ({@code | name(args)}) and tests ({@code is [not] name(args)}) after an operand. */
  private Expr filters(Expr value) {
    while (true) {
      if (tokens.peek().isOp("|")) {
        tokens.next();
        Token name = tokens.expect(Kind.NAME, "a filter name");
        Args args = tokens.peek().isOp("(") ? arguments() : Args.NONE;
        value = postfix(new Expr.Filter(value, name.text(), args, name.line()));
      } else if (tokens.peek().isName("is")) {
        tokens.next();
        boolean negated = false;
        if (tokens.peek().isName("not")) {
          tokens.next();
          negated = true;
        }
        Token name = tokens.next();
        if (name.kind() != Kind.NAME && !(name.kind() == Kind.OP && COMPARE.contains(name.text()))) {
          throw JinjaException.at(name.line(), "expected a test name after 'is'");
        }
        Args args = Args.NONE;
        if (tokens.peek().isOp("(")) {
          args = arguments();
        } else if (startsOperand(tokens.peek())) {
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
      Token t = tokens.peek();
      if (t.isOp(".")) {
        tokens.next();
        Token name = tokens.next();
        if (name.kind() != Kind.NAME && name.kind() != Kind.INT) {
          throw JinjaException.at(name.line(), "expected an attribute name after '.'");
        }
        value = name.kind() == Kind.INT ? new Expr.Item(value, new Expr.Literal(Long.parseLong(name.text())),
            name.line()) : new Expr.Attr(value, name.text(), name.line());
      } else if (t.isOp("[")) {
        tokens.next();
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
    while (!tokens.acceptOp("]")) {
      if (tokens.acceptOp(":")) {
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
    tokens.expectOp("(");
    List<Expr> positional = new ArrayList<>();
    Map<String, Expr> keywords = new LinkedHashMap<>();
    while (!tokens.acceptOp(")")) {
      if (tokens.peek().kind() == Kind.NAME && tokens.peek(1).isOp("=")) {
        String key = tokens.next().text();
        tokens.next();
        keywords.put(key, expression());
      } else {
        if (!keywords.isEmpty()) {
          throw JinjaException.at(tokens.peek().line(), "a positional argument follows a keyword argument");
        }
        positional.add(expression());
      }
      if (!tokens.peek().isOp(")")) {
        tokens.expectOp(",");
      }
    }
    return new Args(positional, keywords);
  }

  private Expr primary() {
    Token t = tokens.next();
    switch (t.kind()) {
      case STRING -> {
        StringBuilder s = new StringBuilder(t.text());
        while (tokens.peek().kind() == Kind.STRING) { // adjacent literals join, as in Python
          s.append(tokens.next().text());
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
            if (tokens.acceptOp(")")) {
              return new Expr.ListOf(List.of());
            }
            Expr inner = expression();
            if (tokens.acceptOp(")")) {
              return inner;
            }
            List<Expr> items = new ArrayList<>(List.of(inner));
            while (tokens.acceptOp(",")) {
              if (tokens.peek().isOp(")")) {
                break;
              }
              items.add(expression());
            }
            tokens.expectOp(")");
            return new Expr.ListOf(items);
          }
          case "[" -> {
            List<Expr> items = new ArrayList<>();
            while (!tokens.acceptOp("]")) {
              items.add(expression());
              if (!tokens.peek().isOp("]")) {
                tokens.expectOp(",");
              }
            }
            return new Expr.ListOf(items);
          }
          case "{" -> {
            List<Expr> keys = new ArrayList<>();
            List<Expr> values = new ArrayList<>();
            while (!tokens.acceptOp("}")) {
              keys.add(expression());
              tokens.expectOp(":");
              values.add(expression());
              if (!tokens.peek().isOp("}")) {
                tokens.expectOp(",");
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
}
