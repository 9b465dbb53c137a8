package io.infermesh.models.jinja;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Runs parsed statements with Jinja2's scoping: a for loop's body has its own scope (so a {@code
 * set} inside it is gone after the loop, which is why templates use {@code namespace}), an {@code
 * if} has none, a macro call has its own. One instance renders once; not thread-safe.
 */
final class Interpreter {
  private enum Flow { NEXT, BREAK, CONTINUE }

  /** Variables of one scope, falling back to the enclosing one. */
  private static final class Scope {
    final Map<String, Object> vars = new HashMap<>();
    final Scope parent;

    Scope(Scope parent) {
      this.parent = parent;
    }

    Scope find(String name) {
      for (Scope s = this; s != null; s = s.parent) {
        if (s.vars.containsKey(name)) {
          return s;
        }
      }
      return null;
    }
  }

  private final Scope root;
  private final int maxOutput;

  Interpreter(Map<String, Object> variables, int maxOutput) {
    Scope globals = new Scope(null);
    globals.vars.put("range", (JinjaFunction) this::range);
    globals.vars.put("namespace", (JinjaFunction) (a, k) -> {
      Namespace ns = new Namespace();
      if (!a.isEmpty() && a.get(0) instanceof Map<?, ?> m) {
        m.forEach((key, v) -> ns.attributes.put(Py.str(key), v));
      }
      ns.attributes.putAll(k);
      return ns;
    });
    globals.vars.put("dict", (JinjaFunction) (a, k) -> Filters.dict(k));
    globals.vars.putAll(variables);
    this.root = new Scope(globals);
    this.maxOutput = maxOutput;
  }

  String render(List<Node> nodes) {
    StringBuilder out = new StringBuilder();
    run(nodes, root, out);
    return out.toString();
  }

  private Flow run(List<Node> nodes, Scope scope, StringBuilder out) {
    for (Node node : nodes) {
      Flow flow = run(node, scope, out);
      if (flow != Flow.NEXT) {
        return flow;
      }
      if (out.length() > maxOutput) {
        throw new JinjaException("the rendered text is over " + maxOutput + " characters");
      }
    }
    return Flow.NEXT;
  }

  private Flow run(Node node, Scope scope, StringBuilder out) {
    if (node instanceof Node.Text t) {
      out.append(t.text());
    } else if (node instanceof Node.Output o) {
      out.append(Py.str(eval(o.expr(), scope)));
    } else if (node instanceof Node.If f) {
      for (int i = 0; i < f.conditions().size(); i++) {
        if (Py.truthy(eval(f.conditions().get(i), scope))) {
          return run(f.bodies().get(i), scope, out);
        }
      }
      return run(f.otherwise(), scope, out);
    } else if (node instanceof Node.For f) {
      return loop(f, scope, out);
    } else if (node instanceof Node.Set s) {
      assign(s.targets(), eval(s.value(), scope), scope, s.line());
    } else if (node instanceof Node.SetAttr s) {
      Scope at = scope.find(s.target());
      if (at == null || !(at.vars.get(s.target()) instanceof Namespace ns)) {
        throw JinjaException.at(s.line(), "cannot assign attribute on non-namespace object '" + s.target() + "'");
      }
      ns.attributes.put(s.attr(), eval(s.value(), scope));
    } else if (node instanceof Node.SetBlock s) {
      StringBuilder body = new StringBuilder();
      run(s.body(), scope, body);
      scope.vars.put(s.target(), body.toString());
    } else if (node instanceof Node.Macro m) {
      scope.vars.put(m.name(), macro(m, scope));
    } else if (node instanceof Node.Break) {
      return Flow.BREAK;
    } else if (node instanceof Node.Continue) {
      return Flow.CONTINUE;
    }
    return Flow.NEXT;
  }

  private Flow loop(Node.For f, Scope scope, StringBuilder out) {
    List<Object> items = Py.iterate(eval(f.iterable(), scope), f.line());
    Scope body = new Scope(scope);
    if (f.filter() != null) {
      List<Object> kept = new ArrayList<>();
      for (Object item : items) {
        assign(f.targets(), item, body, f.line());
        if (Py.truthy(eval(f.filter(), body))) {
          kept.add(item);
        }
      }
      items = kept;
    }
    if (items.isEmpty()) {
      return run(f.otherwise(), scope, out);
    }
    Loop loop = new Loop(items);
    for (int i = 0; i < items.size(); i++) {
      loop.index0 = i;
      assign(f.targets(), items.get(i), body, f.line());
      body.vars.put("loop", loop);
      if (run(f.body(), body, out) == Flow.BREAK) {
        break;
      }
    }
    return Flow.NEXT;
  }

  private static void assign(List<String> targets, Object value, Scope scope, int line) {
    if (targets.size() == 1) {
      scope.vars.put(targets.get(0), value);
      return;
    }
    List<Object> parts = Py.iterate(value, line);
    if (parts.size() != targets.size()) {
      throw JinjaException.at(line, "cannot unpack " + parts.size() + " values into " + targets.size() + " names");
    }
    for (int i = 0; i < targets.size(); i++) {
      scope.vars.put(targets.get(i), parts.get(i));
    }
  }

  private JinjaFunction macro(Node.Macro m, Scope defining) {
    return (args, kwargs) -> {
      if (args.size() > m.params().size()) {
        throw new JinjaException("macro '" + m.name() + "' takes " + m.params().size() + " arguments, got "
            + args.size());
      }
      Scope scope = new Scope(defining);
      int firstDefault = m.params().size() - m.defaults().size();
      for (int i = 0; i < m.params().size(); i++) {
        String p = m.params().get(i);
        Object v = i < args.size() ? args.get(i) : kwargs.containsKey(p) ? kwargs.get(p)
            : i >= firstDefault ? eval(m.defaults().get(i - firstDefault), scope) : new Undefined(p);
        scope.vars.put(p, v);
      }
      StringBuilder out = new StringBuilder();
      run(m.body(), scope, out);
      return out.toString();
    };
  }

  private Object range(List<Object> a, Map<String, Object> k) {
    long start = 0;
    long stop;
    long step = 1;
    if (a.size() == 1) {
      stop = (Long) a.get(0);
    } else if (a.size() == 2 || a.size() == 3) {
      start = (Long) a.get(0);
      stop = (Long) a.get(1);
      step = a.size() == 3 ? (Long) a.get(2) : 1;
    } else {
      throw new JinjaException("range() takes 1 to 3 arguments, got " + a.size());
    }
    if (step == 0) {
      throw new JinjaException("range() step must not be zero");
    }
    List<Object> out = new ArrayList<>();
    for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.add(i);
      if (out.size() > maxOutput) {
        throw new JinjaException("range() is too long");
      }
    }
    return out;
  }

  // ---- expressions ----

  private Object eval(Expr e, Scope scope) {
    if (e instanceof Expr.Literal l) {
      return l.value();
    } else if (e instanceof Expr.Name n) {
      Scope at = scope.find(n.name());
      return at == null ? new Undefined(n.name()) : at.vars.get(n.name());
    } else if (e instanceof Expr.ListOf l) {
      List<Object> out = new ArrayList<>(l.items().size());
      for (Expr item : l.items()) {
        out.add(eval(item, scope));
      }
      return out;
    } else if (e instanceof Expr.DictOf d) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (int i = 0; i < d.keys().size(); i++) {
        out.put(eval(d.keys().get(i), scope), eval(d.values().get(i), scope));
      }
      return out;
    } else if (e instanceof Expr.Attr a) {
      return Py.getattr(eval(a.obj(), scope), a.name(), a.line());
    } else if (e instanceof Expr.Item i) {
      return Py.getitem(eval(i.obj(), scope), eval(i.key(), scope), i.line());
    } else if (e instanceof Expr.Slice s) {
      return Py.slice(eval(s.obj(), scope), optional(s.start(), scope), optional(s.stop(), scope),
          optional(s.step(), scope), s.line());
    } else if (e instanceof Expr.Call c) {
      Object fn = eval(c.fn(), scope);
      if (!(fn instanceof JinjaFunction f)) {
        throw JinjaException.at(c.line(), fn instanceof Undefined u ? "'" + u.name() + "' is undefined"
            : "'" + Py.typeName(fn) + "' object is not callable");
      }
      return call(f, c.args(), scope, c.line());
    } else if (e instanceof Expr.Filter f) {
      Object value = eval(f.value(), scope);
      List<Object> args = positional(f.args(), scope);
      Map<String, Object> kwargs = keywords(f.args(), scope);
      return guarded(f.line(), () -> Filters.apply(f.name(), value, args, kwargs, f.line()));
    } else if (e instanceof Expr.Test t) {
      Object value = eval(t.value(), scope);
      List<Object> args = positional(t.args(), scope);
      return t.negated() != (Boolean) guarded(t.line(), () -> Filters.test(t.name(), value, args, t.line()));
    } else if (e instanceof Expr.Unary u) {
      Object v = eval(u.operand(), scope);
      return switch (u.op()) {
        case "not" -> !Py.truthy(v);
        case "-" -> Py.arithmetic("-", 0L, v, u.line());
        default -> Py.arithmetic("+", 0L, v, u.line());
      };
    } else if (e instanceof Expr.Binary b) {
      return binary(b, scope);
    } else if (e instanceof Expr.Compare c) {
      Object left = eval(c.first(), scope);
      for (int i = 0; i < c.ops().size(); i++) {
        Object right = eval(c.rest().get(i), scope);
        if (!compare(c.ops().get(i), left, right, c.line())) {
          return false;
        }
        left = right;
      }
      return true;
    }
    Expr.Conditional c = (Expr.Conditional) e;
    if (Py.truthy(eval(c.cond(), scope))) {
      return eval(c.then(), scope);
    }
    return c.otherwise() == null ? new Undefined("else") : eval(c.otherwise(), scope);
  }

  private Object binary(Expr.Binary b, Scope scope) {
    Object left = eval(b.left(), scope);
    switch (b.op()) {
      case "and" -> {
        return Py.truthy(left) ? eval(b.right(), scope) : left;
      }
      case "or" -> {
        return Py.truthy(left) ? left : eval(b.right(), scope);
      }
      case "~" -> {
        return Py.str(left) + Py.str(eval(b.right(), scope));
      }
      default -> {
        return Py.arithmetic(b.op(), left, eval(b.right(), scope), b.line());
      }
    }
  }

  private static boolean compare(String op, Object a, Object b, int line) {
    return switch (op) {
      case "==" -> Py.eq(a, b);
      case "!=" -> !Py.eq(a, b);
      case "<" -> Py.compare(a, b, line) < 0;
      case "<=" -> Py.compare(a, b, line) <= 0;
      case ">" -> Py.compare(a, b, line) > 0;
      case ">=" -> Py.compare(a, b, line) >= 0;
      case "in" -> Py.contains(b, a, line);
      default -> !Py.contains(b, a, line); // not in
    };
  }

  private Object call(JinjaFunction f, Expr.Args args, Scope scope, int line) {
    List<Object> positional = positional(args, scope);
    Map<String, Object> keywords = keywords(args, scope);
    return guarded(line, () -> f.call(positional, keywords));
  }

  /** {@code body}'s value; an argument of the wrong type (a Java cast or index error) becomes a template error. */
  private static Object guarded(int line, Supplier<Object> body) {
    try {
      return body.get();
    } catch (JinjaException e) {
      throw e;
    } catch (ClassCastException | IndexOutOfBoundsException | NullPointerException | IllegalArgumentException e) {
      throw JinjaException.at(line, "bad argument: " + e.getMessage());
    }
  }

  private Object optional(Expr e, Scope scope) {
    return e == null ? null : eval(e, scope);
  }

  private List<Object> positional(Expr.Args args, Scope scope) {
    List<Object> out = new ArrayList<>(args.positional().size());
    for (Expr e : args.positional()) {
      out.add(eval(e, scope));
    }
    return out;
  }

  private Map<String, Object> keywords(Expr.Args args, Scope scope) {
    Map<String, Object> out = new LinkedHashMap<>();
    args.keywords().forEach((k, e) -> out.put(k, eval(e, scope)));
    return out;
  }
}
