package io.infermesh.models.tokenizer;

/**
 * Llama 3's pre-tokenizer, {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}, as llama.cpp's {@code
 * unicode_regex_split_custom_llama3} evaluates it.
 *
 * <p>With {@code maxDigits = 1} it is Qwen2's regex (digits split one by one), which llama.cpp
 * runs through {@code std::regex} over category-collapsed text; the two agree because both
 * classify code points with the same table and the regexes differ only in {@code \p{N}{1,3}}.
 *
 * <p>Stateless and thread-safe.
 */
final class Llama3PreTokenizer implements PreTokenizer {
  static final Llama3PreTokenizer LLAMA3 = new Llama3PreTokenizer(3);
  static final Llama3PreTokenizer QWEN2 = new Llama3PreTokenizer(1);

  private final int maxDigits;

  private Llama3PreTokenizer(int maxDigits) {
    this.maxDigits = maxDigits;
  }

  @Override
  public TokenBuffer split(int[] cpts) {
    Gpt2PreTokenizer.Scanner s = new Gpt2PreTokenizer.Scanner(cpts);
    int end = cpts.length;
    for (int pos = 0; pos < end; ) {
      int cpt = cpts[pos];

      // (?i:'s|'t|'re|'ve|'m|'ll|'d)
      if (cpt == '\'' && pos + 1 < end) {
        int next = asciiLower(cpts[pos + 1]);
        if (next == 's' || next == 't' || next == 'm' || next == 'd') {
          pos = s.emit(pos + 2);
          continue;
        }
        if (pos + 2 < end) {
          int nextNext = asciiLower(cpts[pos + 2]);
          if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
            pos = s.emit(pos + 3);
            continue;
          }
        }
      }

      // [^\r\n\p{L}\p{N}]?\p{L}+
      if (!(cpt == '\r' || cpt == '\n' || Codepoints.isNumber(cpt))) {
        if (Codepoints.isLetter(cpt) || s.isLetter(pos + 1)) {
          pos++;
          while (s.isLetter(pos)) pos++;
          s.emit(pos);
          continue;
        }
      }

      // \p{N}{1,maxDigits}
      if (Codepoints.isNumber(cpt)) {
        int first = pos;
        while (s.isNumber(pos)) {
          if (++pos - first >= maxDigits) {
            s.emit(pos);
            first = pos;
          }
        }
        s.emit(pos);
        continue;
      }

      // <space>?[^\s\p{L}\p{N}]+[\r\n]*
      int at = cpt == ' ' ? pos + 1 : pos;
      if (s.isOther(at) || (cpt == ' ' && !s.inText(at))) {
        pos = at;
        while (s.isOther(pos)) pos++;
        while (s.cpt(pos) == '\r' || s.cpt(pos) == '\n') pos++;
        s.emit(pos);
        continue;
      }

      int whitespace = 0;
      int afterLastNewline = 0;
      while (s.isWhitespace(pos + whitespace)) {
        int c = cpts[pos + whitespace];
        if (c == '\r' || c == '\n') {
          afterLastNewline = pos + whitespace + 1;
        }
        whitespace++;
      }
      // \s*[\r\n]+
      if (afterLastNewline > 0) {
        pos = s.emit(afterLastNewline);
        continue;
      }
      pos = s.emitWhitespace(pos, whitespace);
    }
    return s.lengths;
  }

  /** llama.cpp lower-cases with Unicode tables; only ASCII letters lower-case to s, t, r, e, v, m, l, d. */
  private static int asciiLower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
  }
}
