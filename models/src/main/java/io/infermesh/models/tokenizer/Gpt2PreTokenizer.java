package io.infermesh.models.tokenizer;

/**
 * GPT-2's pre-tokenizer, {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+},
 * as llama.cpp's {@code unicode_regex_split_custom_gpt2} evaluates it (used for {@code
 * tokenizer.ggml.pre} = {@code gpt-2} and its aliases).
 *
 * <p>Stateless and thread-safe.
 */
final class Gpt2PreTokenizer implements PreTokenizer {
  static final Gpt2PreTokenizer INSTANCE = new Gpt2PreTokenizer();

  private Gpt2PreTokenizer() {}

  @Override
  public TokenBuffer split(int[] cpts) {
    Scanner s = new Scanner(cpts);
    int end = cpts.length;
    for (int pos = 0; pos < end; ) {
      int cpt = cpts[pos];

      // 's|'t|'re|'ve|'m|'ll|'d
      if (cpt == '\'' && pos + 1 < end) {
        int next = cpts[pos + 1];
        if (next == 's' || next == 't' || next == 'm' || next == 'd') {
          pos = s.emit(pos + 2);
          continue;
        }
        if (pos + 2 < end) {
          int nextNext = cpts[pos + 2];
          if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
            pos = s.emit(pos + 3);
            continue;
          }
        }
      }

      // The optional leading space of the next three alternatives: classify what follows it.
      int at = cpt == ' ' ? pos + 1 : pos;
      // <space>?\p{L}+
      if (s.isLetter(at)) {
        pos = at;
        while (s.isLetter(pos)) pos++;
        s.emit(pos);
        continue;
      }
      // <space>?\p{N}+
      if (s.isNumber(at)) {
        pos = at;
        while (s.isNumber(pos)) pos++;
        s.emit(pos);
        continue;
      }
      // <space>?[^\s\p{L}\p{N}]+
      if (s.isOther(at)) {
        pos = at;
        while (s.isOther(pos)) pos++;
        s.emit(pos);
        continue;
      }

      int whitespace = 0;
      while (s.isWhitespace(pos + whitespace)) whitespace++;
      pos = s.emitWhitespace(pos, whitespace);
    }
    return s.lengths;
  }

  /** Code point classes inside the text; positions past the end belong to no class. */
  static final class Scanner {
    final int[] cpts;
    final TokenBuffer lengths = new TokenBuffer();
    private int prevEnd;

    Scanner(int[] cpts) {
      this.cpts = cpts;
    }

    /**
     * The tail both regexes share, {@code \s+(?!\S)|\s+}, for {@code whitespace} whitespace code
     * points at {@code pos}: a run followed by more text leaves its last one to prefix the next
     * word; no whitespace at all makes a word of one code point (no alternative matched).
     *
     * @return where the next word starts
     */
    int emitWhitespace(int pos, int whitespace) {
      if (whitespace > 1 && pos + whitespace < cpts.length) {
        return emit(pos + whitespace - 1);
      }
      return emit(pos + Math.max(whitespace, 1));
    }

    /** Ends the current word at {@code end}; returns {@code end}. */
    int emit(int end) {
      if (end > prevEnd) {
        lengths.add(end - prevEnd);
      }
      prevEnd = end;
      return end;
    }

    int cpt(int pos) {
      return pos < cpts.length ? cpts[pos] : -1;
    }

    boolean inText(int pos) {
      return pos < cpts.length;
    }

    boolean isLetter(int pos) {
      return pos < cpts.length && Codepoints.isLetter(cpts[pos]);
    }

    boolean isNumber(int pos) {
      return pos < cpts.length && Codepoints.isNumber(cpts[pos]);
    }

    boolean isWhitespace(int pos) {
      return pos < cpts.length && Codepoints.isWhitespace(cpts[pos]);
    }

    /** {@code [^\s\p{L}\p{N}]} inside the text. */
    boolean isOther(int pos) {
      if (pos >= cpts.length) {
        return false;
      }
      int c = cpts[pos];
      return !Codepoints.isWhitespace(c) && !Codepoints.isLetter(c) && !Codepoints.isNumber(c);
    }
  }
}
