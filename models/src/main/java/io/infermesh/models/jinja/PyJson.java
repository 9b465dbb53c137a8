package io.infermesh.models.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(v, ensure_ascii=False, indent=…, separators=…, sort_keys=…)}, which
 * is Hugging Face's {@code tojson} filter: {@code ", "} and {@code ": "} between items (a bare
 * {@code ","} at line ends when indenting), non-ASCII text as is, control characters escaped.
 */
final class PyJson {
  private PyJson() {}

  /**
   * @param indent spaces per level, or -1 for one line
   * @param itemSeparator {@code ", "} by default ({@code ","} when indenting)
   * @param keySeparator {@code ": "} by default
   */
  static String dumps(Object v, int indent, String itemSeparator, String keySeparator, boolean sortKeys, int line) {
    StringBuilder out = new StringBuilder();
    write(out, v, indent, itemSeparator, keySeparator, sortKeys, 0, line);
    return out.toString();
  }

  private static void write(StringBuilder out, Object v, int indent, String itemSep, String keySep, boolean sort,
      int depth, int line) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof Boolean b) {
      out.append(b ? "true" : "false");
    } else if (v instanceof Long l) {
      out.append(l);
    } else if (v instanceof Double d) {
      out.append(d.isNaN() ? "NaN" : d.isInfinite() ? (d > 0 ? "Infinity" : "-Infinity") : Py.floatRepr(d));
    } else if (v instanceof String s) {
      string(out, s);
    } else if (v instanceof List<?> l) {
      if (l.isEmpty()) {
        out.append("[]");
        return;
      }
      out.append('[');
      for (int i = 0; i < l.size(); i++) {
        out.append(i > 0 ? itemSep : "");
        newline(out, indent, depth + 1);
        write(out, l.get(i), indent, itemSep, keySep, sort, depth + 1, line);
      }
      newline(out, indent, depth);
      out.append(']');
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        out.append("{}");
        return;
      }
      List<Object> keys = new ArrayList<>(m.keySet());
      if (sort) {
        keys.sort((a, b) -> Py.compare(a, b, line));
      }
      out.append('{');
      boolean first = true;
      for (Object k : keys) {
        out.append(first ? "" : itemSep);
        first = false;
        newline(out, indent, depth + 1);
        string(out, k instanceof String s ? s : key(k, line));
        out.append(keySep);
        write(out, m.get(k), indent, itemSep, keySep, sort, depth + 1, line);
      }
      newline(out, indent, depth);
      out.append('}');
    } else {
      throw JinjaException.at(line, "Object of type " + Py.typeName(v) + " is not JSON serializable");
    }
  }

  /** A non-string key as Python writes it: numbers and booleans as their JSON text. */
  private static String key(Object k, int line) {
    if (k == null) {
      return "null";
    }
    if (k instanceof Boolean || k instanceof Long || k instanceof Double) {
      return dumps(k, -1, ", ", ": ", false, line);
    }
    throw JinjaException.at(line, "keys must be str, int, float, bool or None, not " + Py.typeName(k));
  }

  private static void newline(StringBuilder out, int indent, int depth) {
    if (indent >= 0) {
      out.append('\n').append(" ".repeat(indent * depth));
    }
  }

  private static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
