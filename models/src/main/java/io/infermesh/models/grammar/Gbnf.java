package io.infermesh.models.grammar;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link Grammar} as llama.cpp GBNF text (the {@code grammar} of its completion request):
 * one {@code name ::= alt | alt} line per rule, the start rule named {@code root}. Stateless.
 */
public final class Gbnf {
  private Gbnf() {}

  /** The GBNF text of {@code grammar}. */
  public static String write(Grammar grammar) {
    StringBuilder out = new StringBuilder();
    if (!grammar.root().equals("root")) {
      out.append("root ::= ").append(grammar.root()).append('\n');
    }
    for (Map.Entry<String, List<List<Grammar.Symbol>>> rule : grammar.rules().entrySet()) {
      out.append(rule.getKey()).append(" ::=");
      // llama.cpp reads past a line end after "|", so an empty alternative must come first (as in
      // its own "ws ::= | \" \""), and a rule that is only empty is written as ""
      List<List<Grammar.Symbol>> alternatives = new ArrayList<>(rule.getValue());
      alternatives.sort(Comparator.comparing(List::isEmpty, Comparator.reverseOrder()));
      if (alternatives.stream().allMatch(List::isEmpty)) {
        out.append(" \"\"\n");
        continue;
      }
      for (int a = 0; a < alternatives.size(); a++) {
        if (a > 0) {
          out.append(" |");
        }
        for (Grammar.Symbol s : alternatives.get(a)) {
          out.append(' ');
          symbol(s, out);
        }
      }
      out.append('\n');
    }
    return out.toString();
  }

  private static void symbol(Grammar.Symbol s, StringBuilder out) {
    if (s instanceof Grammar.Literal l) {
        out.append('"');
        l.text().codePoints().forEach(cp -> escape(cp, "\"", out));
        out.append('"');
    } else if (s instanceof Grammar.CharClass c) {
        int[] r = c.ranges();
        out.append(c.negated() ? "[^" : "[");
        if (r.length == 0) {
          out.append("\\x00"); // [^\x00]: any code point but NUL (GBNF has no empty class)
        }
        for (int i = 0; i < r.length; i += 2) {
          classChar(r[i], out);
          if (r[i + 1] != r[i]) {
            out.append('-');
            classChar(r[i + 1], out);
          }
        }
        out.append(']');
    } else {
      out.append(((Grammar.Ref) s).rule());
    }
  }

  /** A class member: llama.cpp has no escape for {@code - ^}, so these (and brackets) are written in hex. */
  private static void classChar(int cp, StringBuilder out) {
    if (cp == '-' || cp == '^' || cp == '[' || cp == ']') {
      out.append(String.format("\\x%02X", cp));
    } else {
      escape(cp, "", out);
    }
  }

  private static void escape(int cp, String special, StringBuilder out) {
    if (cp == '\\' || special.indexOf(cp) >= 0) {
      out.append('\\').appendCodePoint(cp);
    } else if (cp == '\n') {
      out.append("\\n");
    } else if (cp == '\r') {
      out.append("\\r");
    } else if (cp == '\t') {
      out.append("\\t");
    } else if (cp < 0x20 || cp == 0x7f) {
      out.append(String.format("\\x%02X", cp));
    } else if (cp > 0xffff) {
      out.append(String.format("\\U%08X", cp));
    } else if (cp >= 0x80) {
      out.append(String.format("\\u%04X", cp));
    } else {
      out.appendCodePoint(cp);
    }
  }
}
