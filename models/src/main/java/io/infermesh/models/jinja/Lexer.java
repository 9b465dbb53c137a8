package io.infermesh.models.jinja;

import io.infermesh.models.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into tokens with Jinja2's whitespace rules as Hugging Face sets them ({@code
 * trim_blocks} and {@code lstrip_blocks} on, {@code keep_trailing_newline} off): a {@code -} inside
 * a delimiter strips all whitespace on that side, a block or comment tag alone on its line takes
 * the line's indentation and its own newline with it, and one trailing newline of the source is
 * dropped. Linear in the source.
 */
final class Lexer {
  private final String src;
  private final List<Token> out = new ArrayList<>();
  private int pos;
  private int line = 1;

  private Lexer(String src) {
    this.src = src.endsWith("\n") ? src.substring(0, src.length() - 1) : src;
  }

  static List<Token> tokenize(String source) {
    Lexer lexer = new Lexer(source);
    lexer.run();
    return lexer.out;
  }

  private void run() {
    StringBuilder text = new StringBuilder();
    int textLine = line;
    while (pos < src.length()) {
      int open = nextTag(pos);
      if (open < 0) {
        text.append(src, pos, src.length());
        advanceTo(src.length());
        break;
      }
      char kind = src.charAt(open + 1);
      char marker = open + 2 < src.length() ? src.charAt(open + 2) : ' ';
      String before = src.substring(pos, open);
      if (marker == '-') {
        before = before.stripTrailing();
      } else if (kind != '{' && marker != '+' && alone(open)) {
        before = before.substring(0, before.length() - (open - lineStart(open)));
      }
      text.append(before);
      advanceTo(open);
      if (!text.isEmpty()) {
        out.add(new Token(Kind.TEXT, text.toString(), textLine));
        text.setLength(0);
      }
      int body = open + 2 + (marker == '-' || marker == '+' ? 1 : 0);
      int end = switch (kind) {
        case '#' -> comment(body);
        case '{' -> tag(body, Kind.VAR_START, "}}", Kind.VAR_END);
        default -> tag(body, Kind.BLOCK_START, "%}", Kind.BLOCK_END);
      };
      boolean stripAfter = src.charAt(end - 3) == '-';
      boolean keep = src.charAt(end - 3) == '+';
      advanceTo(end);
      if (stripAfter) {
        int p = pos;
        while (p < src.length() && Character.isWhitespace(src.charAt(p))) {
          p++;
        }
        advanceTo(p);
      } else if (kind != '{' && !keep && pos < src.length() && src.charAt(pos) == '\n') {
        advanceTo(pos + 1);
      }
      textLine = line;
      if (kind == '%' && isRawStart()) {
        raw();
        textLine = line;
      }
    }
    if (!text.isEmpty()) {
      out.add(new Token(Kind.TEXT, text.toString(), textLine));
    }
    out.add(new Token(Kind.EOF, "", line));
  }

  /** The next {@code {{}, {@code {%} or {@code {#} at or after {@code from}; -1 when none. */
  private int nextTag(int from) {
    for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
      char c = src.charAt(i + 1);
      if (c == '{' || c == '%' || c == '#') {
        return i;
      }
    }
    return -1;
  }

  /** Whether only spaces and tabs stand between the start of {@code at}'s line and {@code at}. */
  private boolean alone(int at) {
    return lineStart(at) >= pos;
  }

  private int lineStart(int at) {
    int i = at;
    while (i > 0 && (src.charAt(i - 1) == ' ' || src.charAt(i - 1) == '\t')) {
      i--;
    }
    return i == 0 || src.charAt(i - 1) == '\n' ? i : Integer.MIN_VALUE;
  }

  private int comment(int body) {
    int close = src.indexOf("#}", body);
    if (close < 0) {
      throw JinjaException.at(line, "unclosed comment");
    }
    return close + 2;
  }

  /** Tokenizes a tag's expression from {@code body} to its closing delimiter; returns the index after it. */
  private int tag(int body, Kind start, String close, Kind end) {
    out.add(new Token(start, "", line));
    int p = body;
    int tagLine = line + count(pos, body);
    while (true) {
      while (p < src.length() && Character.isWhitespace(src.charAt(p))) {
        if (src.charAt(p) == '\n') {
          tagLine++;
        }
        p++;
      }
      if (p >= src.length()) {
        throw JinjaException.at(tagLine, "unclosed tag, expected " + close);
      }
      if ((src.charAt(p) == '-' || src.charAt(p) == '+') && src.startsWith(close, p + 1)) {
        out.add(new Token(end, "", tagLine));
        return p + 1 + close.length();
      }
      if (src.startsWith(close, p)) {
        out.add(new Token(end, "", tagLine));
        return p + close.length();
      }
      p = expressionToken(p, tagLine);
    }
  }

  private int expressionToken(int p, int tagLine) {
    char c = src.charAt(p);
    if (c == '\'' || c == '"') {
      return string(p, c, tagLine);
    }
    if (Character.isDigit(c)) {
      int q = p;
      while (q < src.length() && (Character.isDigit(src.charAt(q)) || src.charAt(q) == '_')) {
        q++;
      }
      boolean fraction = q + 1 < src.length() && src.charAt(q) == '.' && Character.isDigit(src.charAt(q + 1));
      if (fraction) {
        q++;
        while (q < src.length() && Character.isDigit(src.charAt(q))) {
          q++;
        }
      }
      out.add(new Token(fraction ? Kind.FLOAT : Kind.INT, src.substring(p, q).replace("_", ""), tagLine));
      return q;
    }
    if (Character.isLetter(c) || c == '_') {
      int q = p;
      while (q < src.length() && (Character.isLetterOrDigit(src.charAt(q)) || src.charAt(q) == '_')) {
        q++;
      }
      out.add(new Token(Kind.NAME, src.substring(p, q), tagLine));
      return q;
    }
    for (String op : new String[] {"**", "//", "==", "!=", "<=", ">="}) {
      if (src.startsWith(op, p)) {
        out.add(new Token(Kind.OP, op, tagLine));
        return p + 2;
      }
    }
    if ("+-*/%~|.,:()[]{}<>=".indexOf(c) >= 0) {
      out.add(new Token(Kind.OP, String.valueOf(c), tagLine));
      return p + 1;
    }
    throw JinjaException.at(tagLine, "unexpected character '" + c + "'");
  }

  /** A string literal with Python's escapes. */
  private int string(int p, char quote, int tagLine) {
    StringBuilder s = new StringBuilder();
    int q = p + 1;
    while (q < src.length() && src.charAt(q) != quote) {
      char c = src.charAt(q);
      if (c == '\\' && q + 1 < src.length()) {
        char e = src.charAt(++q);
        switch (e) {
          case 'n' -> s.append('\n');
          case 't' -> s.append('\t');
          case 'r' -> s.append('\r');
          case 'b' -> s.append('\b');
          case 'f' -> s.append('\f');
          case '0' -> s.append('\0');
          case 'u' -> {
            s.append((char) Integer.parseInt(src.substring(q + 1, q + 5), 16));
            q += 4;
          }
          case '\\', '\'', '"' -> s.append(e);
          case '\n' -> { } // a line continuation
          default -> s.append('\\').append(e);
        }
      } else {
        s.append(c);
      }
      q++;
    }
    if (q >= src.length()) {
      throw JinjaException.at(tagLine, "unclosed string literal");
    }
    out.add(new Token(Kind.STRING, s.toString(), tagLine));
    return q + 1;
  }

  private boolean isRawStart() {
    int n = out.size();
    return n >= 3 && out.get(n - 1).kind() == Kind.BLOCK_END && out.get(n - 2).isName("raw")
        && out.get(n - 3).kind() == Kind.BLOCK_START;
  }

  /** The text up to {@code {% endraw %}}, as it is. */
  private void raw() {
    int n = out.size();
    out.subList(n - 3, n).clear();
    int at = pos;
    while (true) {
      int open = src.indexOf("{%", at);
      if (open < 0) {
        throw JinjaException.at(line, "raw block without endraw");
      }
      int p = open + 2;
      boolean strip = p < src.length() && src.charAt(p) == '-';
      String rest = src.substring(strip ? p + 1 : p).stripLeading();
      if (rest.startsWith("endraw")) {
        String text = src.substring(pos, open);
        if (strip) {
          text = text.stripTrailing();
        }
        if (!text.isEmpty()) {
          out.add(new Token(Kind.TEXT, text, line));
        }
        int close = src.indexOf("%}", open);
        advanceTo(close + 2);
        return;
      }
      at = open + 2;
    }
  }

  private void advanceTo(int p) {
    line += count(pos, p);
    pos = p;
  }

  private int count(int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      if (src.charAt(i) == '\n') {
        n++;
      }
    }
    return n;
  }
}
