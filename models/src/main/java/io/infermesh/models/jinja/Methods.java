package io.infermesh.models.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Python methods templates call on strings ({@code strip}, {@code startswith}, {@code split},
 * …), dicts ({@code items}, {@code get}, …) and lists, as bound functions. Mutating methods are
 * absent, as in Hugging Face's immutable sandbox.
 */
final class Methods {
  private Methods() {}

  /** The method {@code name} of {@code obj}, or null when it has none. */
  static JinjaFunction of(Object obj, String name, int line) {
    if (obj instanceof String s) {
      return string(s, name, line);
    }
    if (obj instanceof Map<?, ?> m) {
      return switch (name) {
        case "items" -> (a, k) -> Py.items(m);
        case "keys" -> (a, k) -> new ArrayList<>(m.keySet());
        case "values" -> (a, k) -> new ArrayList<>(m.values());
        case "get" -> (a, k) -> {
          arity(a, 1, 2, "get", line);
          return m.containsKey(a.get(0)) ? m.get(a.get(0)) : a.size() > 1 ? a.get(1) : null;
        };
        default -> null;
      };
    }
    if (obj instanceof List<?> l) {
      return switch (name) {
        case "index" -> (a, k) -> {
          arity(a, 1, 1, "index", line);
          for (int i = 0; i < l.size(); i++) {
            if (Py.eq(l.get(i), a.get(0))) {
              return (long) i;
            }
          }
          throw JinjaException.at(line, Py.repr(a.get(0)) + " is not in list");
        };
        case "count" -> (a, k) -> {
          arity(a, 1, 1, "count", line);
          return l.stream().filter(x -> Py.eq(x, a.get(0))).count();
        };
        default -> null;
      };
    }
    return null;
  }

  private static JinjaFunction string(String s, String name, int line) {
    return switch (name) {
      case "strip" -> (a, k) -> strip(s, chars(a, line), true, true);
      case "lstrip" -> (a, k) -> strip(s, chars(a, line), true, false);
      case "rstrip" -> (a, k) -> strip(s, chars(a, line), false, true);
      case "upper" -> (a, k) -> s.toUpperCase(Locale.ROOT);
      case "lower" -> (a, k) -> s.toLowerCase(Locale.ROOT);
      case "title" -> (a, k) -> Filters.title(s);
      case "capitalize" -> (a, k) -> Filters.capitalize(s);
      case "startswith" -> (a, k) -> affix(s, a, line, true);
      case "endswith" -> (a, k) -> affix(s, a, line, false);
      case "split" -> (a, k) -> split(s, a.isEmpty() ? k.get("sep") : a.get(0),
          a.size() > 1 ? a.get(1) : k.getOrDefault("maxsplit", -1L), line);
      case "splitlines" -> (a, k) -> {
        List<Object> out = new ArrayList<>(List.of(s.split("\r\n|\r|\n", -1)));
        if (!out.isEmpty() && "".equals(out.get(out.size() - 1))) {
          out.remove(out.size() - 1); // a final line break ends the last line, it starts none
        }
        return out;
      };
      case "replace" -> (a, k) -> {
        arity(a, 2, 3, "replace", line);
        return Filters.replace(s, Py.str(a.get(0)), Py.str(a.get(1)), a.size() > 2 ? (Long) a.get(2) : -1);
      };
      case "find" -> (a, k) -> {
        arity(a, 1, 1, "find", line);
        return (long) s.indexOf(Py.str(a.get(0)));
      };
      case "rfind" -> (a, k) -> {
        arity(a, 1, 1, "rfind", line);
        return (long) s.lastIndexOf(Py.str(a.get(0)));
      };
      case "count" -> (a, k) -> {
        arity(a, 1, 1, "count", line);
        String sub = Py.str(a.get(0));
        long n = 0;
        for (int i = s.indexOf(sub); i >= 0 && !sub.isEmpty(); i = s.indexOf(sub, i + sub.length())) {
          n++;
        }
        return n;
      };
      case "join" -> (a, k) -> {
        arity(a, 1, 1, "join", line);
        StringBuilder out = new StringBuilder();
        boolean first = true;
        for (Object o : Py.iterate(a.get(0), line)) {
          out.append(first ? "" : s).append(Py.str(o));
          first = false;
        }
        return out.toString();
      };
      case "isdigit" -> (a, k) -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
      case "isspace" -> (a, k) -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
      default -> null;
    };
  }

  private static String chars(List<Object> a, int line) {
    arity(a, 0, 1, "strip", line);
    return a.isEmpty() || a.get(0) == null ? null : Py.str(a.get(0));
  }

  /** Python's {@code str.strip(chars)}: whitespace when {@code chars} is null. */
  static String strip(String s, String chars, boolean left, boolean right) {
    int from = 0;
    int to = s.length();
    while (left && from < to && (chars == null ? Character.isWhitespace(s.charAt(from))
        : chars.indexOf(s.charAt(from)) >= 0)) {
      from++;
    }
    while (right && to > from && (chars == null ? Character.isWhitespace(s.charAt(to - 1))
        : chars.indexOf(s.charAt(to - 1)) >= 0)) {
      to--;
    }
    return s.substring(from, to);
  }

  private static boolean affix(String s, List<Object> a, int line, boolean prefix) {
    arity(a, 1, 1, prefix ? "startswith" : "endswith", line);
    List<Object> options = a.get(0) instanceof List<?> l ? new ArrayList<>(l) : List.of(a.get(0));
    for (Object o : options) {
      if (!(o instanceof String x)) {
        throw JinjaException.at(line, (prefix ? "startswith" : "endswith") + " takes a string or a tuple of strings");
      }
      if (prefix ? s.startsWith(x) : s.endsWith(x)) {
        return true;
      }
    }
    return false;
  }

  /** Python's {@code str.split(sep, maxsplit)}: on runs of whitespace, dropping empties, when {@code sep} is none. */
  private static List<Object> split(String s, Object sep, Object maxsplit, int line) {
    long max = maxsplit instanceof Long l ? l : -1;
    List<Object> out = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (true) {
        while (i < n && Character.isWhitespace(s.charAt(i))) {
          i++;
        }
        if (i >= n) {
          return out;
        }
        if (max >= 0 && out.size() == max) {
          out.add(Methods.strip(s.substring(i), null, false, true));
          return out;
        }
        int j = i;
        while (j < n && !Character.isWhitespace(s.charAt(j))) {
          j++;
        }
        out.add(s.substring(i, j));
        i = j;
      }
    }
    String d = Py.str(sep);
    if (d.isEmpty()) {
      throw JinjaException.at(line, "empty separator");
    }
    int from = 0;
    for (int at = s.indexOf(d); at >= 0 && (max < 0 || out.size() < max); at = s.indexOf(d, from)) {
      out.add(s.substring(from, at));
      from = at + d.length();
    }
    out.add(s.substring(from));
    return out;
  }

  static void arity(List<Object> a, int min, int max, String name, int line) {
    if (a.size() < min || a.size() > max) {
      throw JinjaException.at(line, name + "() takes " + (min == max ? min : min + " to " + max)
          + " arguments, got " + a.size());
    }
  }
}
