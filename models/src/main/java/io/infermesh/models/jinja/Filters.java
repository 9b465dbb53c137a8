package io.infermesh.models.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Jinja2's built-in filters and tests that chat templates use, with Hugging Face's {@code tojson}.
 * An unknown filter or test is an error naming it. Stateless.
 */
final class Filters {
  private Filters() {}

  /** Filter {@code name} applied to {@code v} with arguments {@code a} and keyword arguments {@code k}. */
  static Object apply(String name, Object v, List<Object> a, Map<String, Object> k, int line) {
    switch (name) {
      case "tojson" -> {
        Object indent = k.getOrDefault("indent", a.isEmpty() ? null : a.get(0));
        int spaces = indent == null ? -1 : (int) (long) (Long) indent;
        List<?> separators = k.get("separators") instanceof List<?> l ? l : null;
        String item = separators != null ? Py.str(separators.get(0)) : spaces >= 0 ? "," : ", ";
        String key = separators != null ? Py.str(separators.get(1)) : ": ";
        return PyJson.dumps(v, spaces, item, key, Py.truthy(k.get("sort_keys")), line);
      }
      case "length", "count" -> {
        return Py.len(v, line);
      }
      case "string" -> {
        return Py.str(v);
      }
      case "trim" -> {
        return Methods.strip(Py.str(v), a.isEmpty() ? null : Py.str(a.get(0)), true, true);
      }
      case "upper" -> {
        return Py.str(v).toUpperCase(Locale.ROOT);
      }
      case "lower" -> {
        return Py.str(v).toLowerCase(Locale.ROOT);
      }
      case "title" -> {
        return title(Py.str(v));
      }
      case "capitalize" -> {
        return capitalize(Py.str(v));
      }
      case "safe", "e", "escape", "forceescape" -> { // autoescape is off in chat templates: text stays as is
        return name.equals("safe") ? v : Py.str(v);
      }
      case "default", "d" -> {
        boolean bool = Py.truthy(k.getOrDefault("boolean", a.size() > 1 ? a.get(1) : false));
        Object fallback = k.getOrDefault("default_value", a.isEmpty() ? "" : a.get(0));
        return v instanceof Undefined || bool && !Py.truthy(v) ? fallback : v;
      }
      case "first" -> {
        List<Object> items = Py.iterate(v, line);
        return items.isEmpty() ? new Undefined("first") : items.get(0);
      }
      case "last" -> {
        List<Object> items = Py.iterate(v, line);
        return items.isEmpty() ? new Undefined("last") : items.get(items.size() - 1);
      }
      case "list" -> {
        return Py.iterate(v, line);
      }
      case "reverse" -> {
        List<Object> items = Py.iterate(v, line);
        Collections.reverse(items);
        if (v instanceof String) {
          return String.join("", items.stream().map(Py::str).toList());
        }
        return items;
      }
      case "join" -> {
        String sep = Py.str(k.getOrDefault("d", a.isEmpty() ? "" : a.get(0)));
        Object attribute = k.getOrDefault("attribute", a.size() > 1 ? a.get(1) : null);
        StringBuilder out = new StringBuilder();
        boolean first = true;
        for (Object o : Py.iterate(v, line)) {
          out.append(first ? "" : sep).append(Py.str(attribute == null ? o : attribute(o, attribute, line)));
          first = false;
        }
        return out.toString();
      }
      case "items" -> {
        return v instanceof Undefined ? new ArrayList<>() : Py.items(mapping(v, "items", line));
      }
      case "dictsort" -> {
        List<Object> items = Py.items(mapping(v, "dictsort", line));
        boolean byValue = "value".equals(k.getOrDefault("by", a.size() > 1 ? a.get(1) : "key"));
        items.sort((x, y) -> Py.compare(((List<?>) x).get(byValue ? 1 : 0), ((List<?>) y).get(byValue ? 1 : 0), line));
        return items;
      }
      case "replace" -> {
        Methods.arity(a, 2, 3, "replace", line);
        return replace(Py.str(v), Py.str(a.get(0)), Py.str(a.get(1)), a.size() > 2 ? (Long) a.get(2) : -1);
      }
      case "indent" -> {
        long width = (Long) k.getOrDefault("width", a.isEmpty() ? 4L : a.get(0));
        boolean first = Py.truthy(k.getOrDefault("first", a.size() > 1 ? a.get(1) : false));
        boolean blank = Py.truthy(k.getOrDefault("blank", a.size() > 2 ? a.get(2) : false));
        return indent(Py.str(v), " ".repeat((int) width), first, blank);
      }
      case "int" -> {
        return toInt(v);
      }
      case "float" -> {
        return v instanceof String s ? parseDouble(s) : Py.isNumber(v) ? ((Number) toNumber(v)).doubleValue() : 0.0;
      }
      case "abs" -> {
        return v instanceof Double d ? (Object) Math.abs(d) : Math.abs((Long) toInt(v));
      }
      case "unique" -> {
        List<Object> out = new ArrayList<>();
        for (Object o : Py.iterate(v, line)) {
          if (out.stream().noneMatch(x -> Py.eq(x, o))) {
            out.add(o);
          }
        }
        return out;
      }
      case "sum" -> {
        Object total = k.getOrDefault("start", 0L);
        Object attribute = k.get("attribute");
        for (Object o : Py.iterate(v, line)) {
          total = Py.arithmetic("+", total, attribute == null ? o : attribute(o, attribute, line), line);
        }
        return total;
      }
      case "min", "max" -> {
        Object best = null;
        for (Object o : Py.iterate(v, line)) {
          if (best == null || Py.compare(o, best, line) * (name.equals("min") ? -1 : 1) > 0) {
            best = o;
          }
        }
        return best == null ? new Undefined(name) : best;
      }
      case "sort" -> {
        List<Object> items = Py.iterate(v, line);
        Object attribute = k.get("attribute");
        boolean reverse = Py.truthy(k.getOrDefault("reverse", a.isEmpty() ? false : a.get(0)));
        items.sort((x, y) -> Py.compare(attribute == null ? x : attribute(x, attribute, line),
            attribute == null ? y : attribute(y, attribute, line), line) * (reverse ? -1 : 1));
        return items;
      }
      case "map" -> {
        List<Object> out = new ArrayList<>();
        Object attribute = k.get("attribute");
        for (Object o : Py.iterate(v, line)) {
          if (attribute != null) {
            Object got = attribute(o, attribute, line);
            out.add(got instanceof Undefined && k.containsKey("default") ? k.get("default") : got);
          } else {
            if (a.isEmpty()) {
              throw JinjaException.at(line, "map needs a filter name or attribute=");
            }
            out.add(apply(Py.str(a.get(0)), o, a.subList(1, a.size()), Map.of(), line));
          }
        }
        return out;
      }
      case "select", "reject" -> {
        List<Object> out = new ArrayList<>();
        for (Object o : Py.iterate(v, line)) {
          boolean pass = a.isEmpty() ? Py.truthy(o) : test(Py.str(a.get(0)), o, a.subList(1, a.size()), line);
          if (pass == name.equals("select")) {
            out.add(o);
          }
        }
        return out;
      }
      case "selectattr", "rejectattr" -> {
        if (a.isEmpty()) {
          throw JinjaException.at(line, name + " needs an attribute name");
        }
        List<Object> out = new ArrayList<>();
        for (Object o : Py.iterate(v, line)) {
          Object got = attribute(o, a.get(0), line);
          boolean pass = a.size() < 2 ? Py.truthy(got) : test(Py.str(a.get(1)), got, a.subList(2, a.size()), line);
          if (pass == name.equals("selectattr")) {
            out.add(o);
          }
        }
        return out;
      }
      default -> throw JinjaException.at(line, "no filter named '" + name + "'");
    }
  }

  /** Test {@code name} on {@code v} ({@code v is name(args)}). */
  static boolean test(String name, Object v, List<Object> a, int line) {
    return switch (name) {
      case "defined" -> !(v instanceof Undefined);
      case "undefined" -> v instanceof Undefined;
      case "none" -> v == null;
      case "string" -> v instanceof String;
      case "number" -> v instanceof Long || v instanceof Double || v instanceof Boolean;
      case "integer" -> v instanceof Long;
      case "float" -> v instanceof Double;
      case "boolean" -> v instanceof Boolean;
      case "true" -> Boolean.TRUE.equals(v);
      case "false" -> Boolean.FALSE.equals(v);
      case "mapping" -> v instanceof Map<?, ?> || v instanceof Namespace;
      case "iterable" -> v instanceof String || v instanceof List<?> || v instanceof Map<?, ?>
          || v instanceof Undefined; // iter(Undefined) works in Jinja2
      case "sequence" -> v instanceof String || v instanceof List<?> || v instanceof Map<?, ?>;
      case "callable" -> v instanceof JinjaFunction;
      case "lower" -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
      case "upper" -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
      case "odd" -> (Long) toInt(v) % 2 != 0;
      case "even" -> (Long) toInt(v) % 2 == 0;
      case "divisibleby" -> (Long) toInt(v) % (Long) toInt(arg(a, name, line)) == 0;
      case "equalto", "eq", "==", "sameas" -> Py.eq(v, arg(a, name, line));
      case "ne", "!=" -> !Py.eq(v, arg(a, name, line));
      case "lt", "lessthan", "<" -> Py.compare(v, arg(a, name, line), line) < 0;
      case "le", "<=" -> Py.compare(v, arg(a, name, line), line) <= 0;
      case "gt", "greaterthan", ">" -> Py.compare(v, arg(a, name, line), line) > 0;
      case "ge", ">=" -> Py.compare(v, arg(a, name, line), line) >= 0;
      case "in" -> Py.contains(arg(a, name, line), v, line);
      default -> throw JinjaException.at(line, "no test named '" + name + "'");
    };
  }

  private static Object arg(List<Object> a, String name, int line) {
    if (a.isEmpty()) {
      throw JinjaException.at(line, "the '" + name + "' test needs an argument");
    }
    return a.get(0);
  }

  /** {@code attribute} of {@code o} as filters read it: dotted paths and integer indexes. */
  private static Object attribute(Object o, Object attribute, int line) {
    if (attribute instanceof Long) {
      return Py.getitem(o, attribute, line);
    }
    Object at = o;
    for (String part : Py.str(attribute).split("\\.")) {
      if (at instanceof Undefined) {
        return at;
      }
      at = part.chars().allMatch(Character::isDigit) ? Py.getitem(at, Long.parseLong(part), line)
          : Py.getitem(at, part, line);
    }
    return at;
  }

  private static Map<?, ?> mapping(Object v, String filter, int line) {
    if (v instanceof Map<?, ?> m) {
      return m;
    }
    throw JinjaException.at(line, filter + " needs a mapping, got " + Py.typeName(v));
  }

  private static Object toInt(Object v) {
    if (v instanceof Long) {
      return v;
    }
    if (v instanceof Boolean b) {
      return b ? 1L : 0L;
    }
    if (v instanceof Double d) {
      return (long) (double) d;
    }
    if (v instanceof String s) {
      try {
        return Long.parseLong(s.strip());
      } catch (NumberFormatException e) {
        return 0L;
      }
    }
    return 0L;
  }

  private static Object toNumber(Object v) {
    return v instanceof Boolean b ? (b ? 1L : 0L) : v;
  }

  private static double parseDouble(String s) {
    try {
      return Double.parseDouble(s.strip());
    } catch (NumberFormatException e) {
      return 0.0;
    }
  }

  static String replace(String s, String old, String replacement, long count) {
    if (count < 0) {
      return s.replace(old, replacement);
    }
    StringBuilder out = new StringBuilder();
    int from = 0;
    for (long n = 0; n < count; n++) {
      int at = s.indexOf(old, from);
      if (at < 0 || old.isEmpty()) {
        break;
      }
      out.append(s, from, at).append(replacement);
      from = at + old.length();
    }
    return out.append(s.substring(from)).toString();
  }

  static String capitalize(String s) {
    return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
  }

  static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean start = true;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      out.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
      start = !Character.isLetterOrDigit(c);
    }
    return out.toString();
  }

  private static String indent(String s, String pad, boolean first, boolean blank) {
    String[] lines = s.split("\n", -1);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < lines.length; i++) {
      if (i > 0) {
        out.append('\n');
      }
      boolean pads = (i > 0 || first) && (blank || !lines[i].isBlank());
      out.append(pads ? pad : "").append(lines[i]);
    }
    return out.toString();
  }

  /** A dict from keyword arguments ({@code dict(a=1)}), keeping their order. */
  static Map<String, Object> dict(Map<String, Object> kwargs) {
    return new LinkedHashMap<>(kwargs);
  }
}
