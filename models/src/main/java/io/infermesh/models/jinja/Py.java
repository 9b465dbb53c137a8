package io.infermesh.models.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Python's semantics for the values a template handles: {@code String}, {@code Long}, {@code
 * Double}, {@code Boolean}, {@code null} (None), {@code List}, {@code Map}, {@link Undefined},
 * {@link Namespace}, {@link Loop} and functions. Truth, {@code str()}, {@code repr()}, equality,
 * ordering, arithmetic and attribute/item access, as Jinja2 running on Python does them.
 */
final class Py {
  private Py() {}

  static boolean truthy(Object v) {
    if (v == null || v instanceof Undefined) {
      return false;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof Long l) {
      return l != 0;
    }
    if (v instanceof Double d) {
      return d != 0;
    }
    if (v instanceof String s) {
      return !s.isEmpty();
    }
    if (v instanceof List<?> l) {
      return !l.isEmpty();
    }
    if (v instanceof Map<?, ?> m) {
      return !m.isEmpty();
    }
    return true;
  }

  /** Python's {@code str(v)}; {@code ""} for undefined. */
  static String str(Object v) {
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof List<?> || v instanceof Map<?, ?>) {
      return repr(v);
    }
    return v instanceof Undefined ? "" : repr(v);
  }

  /** Python's {@code repr(v)}. */
  static String repr(Object v) {
    if (v == null) {
      return "None";
    }
    if (v instanceof Boolean b) {
      return b ? "True" : "False";
    }
    if (v instanceof Double d) {
      return floatRepr(d);
    }
    if (v instanceof String s) {
      return stringRepr(s);
    }
    if (v instanceof List<?> l) {
      StringBuilder out = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) {
        out.append(i > 0 ? ", " : "").append(repr(l.get(i)));
      }
      return out.append(']').toString();
    }
    if (v instanceof Map<?, ?> m) {
      StringBuilder out = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
        first = false;
      }
      return out.append('}').toString();
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    return v.toString();
  }

  /** Python's {@code repr(float)}: the shortest round-trip digits, {@code 1e+16} style outside [1e-4, 1e16). */
  static String floatRepr(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    double a = Math.abs(d);
    if (a == 0 || a >= 1e-4 && a < 1e16) {
      String plain = new BigDecimal(Double.toString(d)).toPlainString();
      return plain.contains(".") ? plain : plain + ".0";
    }
    String s = Double.toString(d); // e.g. 1.0E-5, 1.234E20
    int e = s.indexOf('E');
    String mantissa = s.substring(0, e);
    if (mantissa.endsWith(".0")) {
      mantissa = mantissa.substring(0, mantissa.length() - 2);
    }
    int exp = Integer.parseInt(s.substring(e + 1));
    return mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
  }

  private static String stringRepr(String s) {
    char quote = s.contains("'") && !s.contains("\"") ? '"' : '\'';
    StringBuilder out = new StringBuilder().append(quote);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c == quote) {
            out.append('\\');
          }
          out.append(c);
        }
      }
    }
    return out.append(quote).toString();
  }

  static boolean isNumber(Object v) {
    return v instanceof Long || v instanceof Double || v instanceof Boolean;
  }

  private static double dbl(Object v) {
    return v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).doubleValue();
  }

  private static long lng(Object v) {
    return v instanceof Boolean b ? (b ? 1 : 0) : (Long) v;
  }

  private static boolean integral(Object v) {
    return v instanceof Long || v instanceof Boolean;
  }

  /** Python's {@code ==}: numbers by value (True == 1), lists and dicts deeply, undefined equals undefined. */
  static boolean eq(Object a, Object b) {
    if (isNumber(a) && isNumber(b)) {
      return integral(a) && integral(b) ? lng(a) == lng(b) : dbl(a) == dbl(b);
    }
    if (a instanceof List<?> x && b instanceof List<?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!eq(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : x.entrySet()) {
        if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Undefined || b instanceof Undefined) {
      return a instanceof Undefined && b instanceof Undefined;
    }
    return Objects.equals(a, b);
  }

  /** Python's ordering of numbers, strings and lists; anything else is a type error. */
  static int compare(Object a, Object b, int line) {
    if (isNumber(a) && isNumber(b)) {
      return integral(a) && integral(b) ? Long.compare(lng(a), lng(b)) : Double.compare(dbl(a), dbl(b));
    }
    if (a instanceof String x && b instanceof String y) {
      return x.compareTo(y);
    }
    if (a instanceof List<?> x && b instanceof List<?> y) {
      for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
        if (!eq(x.get(i), y.get(i))) {
          return compare(x.get(i), y.get(i), line);
        }
      }
      return Integer.compare(x.size(), y.size());
    }
    throw JinjaException.at(line, "cannot compare " + typeName(a) + " with " + typeName(b));
  }

  static String typeName(Object v) {
    if (v == null) {
      return "NoneType";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Long) {
      return "int";
    }
    if (v instanceof Double) {
      return "float";
    }
    if (v instanceof String) {
      return "str";
    }
    if (v instanceof List<?>) {
      return "list";
    }
    if (v instanceof Map<?, ?>) {
      return "dict";
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    return v.getClass().getSimpleName();
  }

  static long len(Object v, int line) {
    if (v instanceof String s) {
      return s.codePointCount(0, s.length());
    }
    if (v instanceof List<?> l) {
      return l.size();
    }
    if (v instanceof Map<?, ?> m) {
      return m.size();
    }
    if (v instanceof Undefined) {
      return 0;
    }
    throw JinjaException.at(line, "object of type '" + typeName(v) + "' has no len()");
  }

  /** The items a for loop sees: a list's items, a dict's keys, a string's characters; undefined is empty. */
  static List<Object> iterate(Object v, int line) {
    if (v instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    if (v instanceof Map<?, ?> m) {
      return new ArrayList<>(m.keySet());
    }
    if (v instanceof String s) {
      List<Object> chars = new ArrayList<>();
      s.codePoints().forEach(c -> chars.add(new String(Character.toChars(c))));
      return chars;
    }
    if (v instanceof Undefined) {
      return new ArrayList<>();
    }
    throw JinjaException.at(line, "'" + typeName(v) + "' object is not iterable");
  }

  static boolean contains(Object container, Object item, int line) {
    if (container instanceof String s) {
      if (!(item instanceof String x)) {
        throw JinjaException.at(line, "'in <string>' requires string as left operand, not " + typeName(item));
      }
      return s.contains(x);
    }
    if (container instanceof Map<?, ?> m) {
      return m.containsKey(item);
    }
    if (container instanceof Undefined) {
      return false;
    }
    for (Object o : iterate(container, line)) {
      if (eq(o, item)) {
        return true;
      }
    }
    return false;
  }

  /** {@code obj.name}: an attribute (a method, a namespace's or loop's attribute) first, then an item. */
  static Object getattr(Object obj, String name, int line) {
    if (obj instanceof Undefined u) {
      throw JinjaException.at(line, "'" + u.name() + "' is undefined, so it has no attribute '" + name + "'");
    }
    if (obj instanceof Namespace ns) {
      return ns.attributes.containsKey(name) ? ns.attributes.get(name) : new Undefined(name);
    }
    if (obj instanceof Loop loop) {
      return loop.attribute(name);
    }
    JinjaFunction method = Methods.of(obj, name, line);
    if (method != null) {
      return method;
    }
    if (obj instanceof Map<?, ?> m && m.containsKey(name)) {
      return m.get(name);
    }
    return new Undefined(name);
  }

  /** {@code obj[key]}: an item first, then (for a string key) an attribute. */
  static Object getitem(Object obj, Object key, int line) {
    if (obj instanceof Undefined u) {
      throw JinjaException.at(line, "'" + u.name() + "' is undefined, so it has no item " + repr(key));
    }
    if (obj instanceof Map<?, ?> m) {
      if (m.containsKey(key)) {
        return m.get(key);
      }
    } else if ((obj instanceof List<?> || obj instanceof String) && integral(key)) {
      List<Object> items = obj instanceof String ? iterate(obj, line) : null;
      int n = items != null ? items.size() : ((List<?>) obj).size();
      long i = lng(key);
      if (i < 0) {
        i += n;
      }
      if (i >= 0 && i < n) {
        return items != null ? items.get((int) i) : ((List<?>) obj).get((int) i);
      }
      return new Undefined(repr(key));
    }
    return key instanceof String s ? getattr(obj, s, line) : new Undefined(repr(key));
  }

  /** {@code obj[start:stop:step]} of a list or string, with Python's clamping and negative indexes. */
  static Object slice(Object obj, Object start, Object stop, Object step, int line) {
    if (!(obj instanceof List<?> || obj instanceof String)) {
      throw JinjaException.at(line, "'" + typeName(obj) + "' object is not subscriptable");
    }
    List<Object> items = iterate(obj, line);
    int n = items.size();
    long by = step == null ? 1 : lng(step);
    if (by == 0) {
      throw JinjaException.at(line, "slice step cannot be zero");
    }
    long from;
    long to;
    if (by > 0) {
      from = start == null ? 0 : clamp(lng(start), n, 0, n);
      to = stop == null ? n : clamp(lng(stop), n, 0, n);
    } else {
      from = start == null ? n - 1 : clamp(lng(start), n, -1, n - 1);
      to = stop == null ? -1 : clamp(lng(stop), n, -1, n - 1);
    }
    List<Object> out = new ArrayList<>();
    for (long i = from; by > 0 ? i < to : i > to; i += by) {
      out.add(items.get((int) i));
    }
    if (obj instanceof String) {
      StringBuilder s = new StringBuilder();
      out.forEach(s::append);
      return s.toString();
    }
    return out;
  }

  private static long clamp(long i, int n, long lo, long hi) {
    long j = i < 0 ? i + n : i;
    return Math.max(lo, Math.min(hi, j));
  }

  /** {@code a op b} for {@code + - * / // % **}. */
  static Object arithmetic(String op, Object a, Object b, int line) {
    if (op.equals("+")) {
      if (a instanceof String x && b instanceof String y) {
        return x + y;
      }
      if (a instanceof List<?> x && b instanceof List<?> y) {
        List<Object> out = new ArrayList<>(x);
        out.addAll(y);
        return out;
      }
    }
    if (op.equals("*") && (a instanceof String || a instanceof List<?>) && integral(b)) {
      return repeat(a, lng(b));
    }
    if (!isNumber(a) || !isNumber(b)) {
      throw JinjaException.at(line, "unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '"
          + typeName(b) + "'");
    }
    boolean ints = integral(a) && integral(b);
    switch (op) {
      case "+" -> {
        return ints ? (Object) (lng(a) + lng(b)) : dbl(a) + dbl(b);
      }
      case "-" -> {
        return ints ? (Object) (lng(a) - lng(b)) : dbl(a) - dbl(b);
      }
      case "*" -> {
        return ints ? (Object) (lng(a) * lng(b)) : dbl(a) * dbl(b);
      }
      case "/" -> {
        if (dbl(b) == 0) {
          throw JinjaException.at(line, "division by zero");
        }
        return dbl(a) / dbl(b);
      }
      case "//", "%" -> {
        if (dbl(b) == 0) {
          throw JinjaException.at(line, "integer division or modulo by zero");
        }
        if (ints) {
          return op.equals("//") ? (Object) Math.floorDiv(lng(a), lng(b)) : Math.floorMod(lng(a), lng(b));
        }
        double q = Math.floor(dbl(a) / dbl(b));
        return op.equals("//") ? q : dbl(a) - q * dbl(b);
      }
      case "**" -> {
        if (ints && lng(b) >= 0) {
          return (long) Math.pow(lng(a), lng(b));
        }
        return Math.pow(dbl(a), dbl(b));
      }
      default -> throw JinjaException.at(line, "unknown operator " + op);
    }
  }

  private static Object repeat(Object a, long times) {
    if (a instanceof String s) {
      return s.repeat((int) Math.max(0, times));
    }
    List<Object> out = new ArrayList<>();
    for (long i = 0; i < times; i++) {
      out.addAll((List<?>) a);
    }
    return out;
  }

  /** Iterates a map's entries as two-item lists (for {@code items()}). */
  static List<Object> items(Map<?, ?> m) {
    List<Object> out = new ArrayList<>(m.size());
    for (Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<?, ?> e = it.next();
      out.add(Arrays.asList(e.getKey(), e.getValue()));
    }
    return out;
  }
}
