package io.infermesh.models.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts special tokens out of text before tokenization, as llama.cpp's {@code
 * tokenizer_st_partition}: special tokens are tried longest text first; each splits every
 * remaining text fragment at all its occurrences, left to right. {@link TokenType#CONTROL} and
 * {@link TokenType#UNKNOWN} tokens are only cut out when special tokens are parsed; {@link
 * TokenType#USER_DEFINED} tokens always are.
 *
 * <p>Immutable and thread-safe.
 */
final class SpecialTokenSplitter {
  /** A piece of the input: either text {@code [start, end)} or a token id. */
  record Fragment(int token, int start, int end) {
    static Fragment text(int start, int end) {
      return new Fragment(-1, start, end);
    }

    boolean isText() {
      return token < 0;
    }
  }

  private final Vocabulary vocab;
  private final int[] specials; // longest text first, ties by id

  SpecialTokenSplitter(Vocabulary vocab) {
    this.vocab = vocab;
    List<Integer> ids = new ArrayList<>();
    for (int id = 0; id < vocab.size(); id++) {
      if (vocab.type(id).isSpecial()) {
        ids.add(id);
      }
    }
    ids.sort(Comparator.comparingInt((Integer id) -> -vocab.text(id).length()).thenComparingInt(id -> id));
    this.specials = ids.stream().mapToInt(Integer::intValue).toArray();
  }

  List<Fragment> split(String text, boolean parseSpecial) {
    List<Fragment> fragments = new ArrayList<>();
    if (text.isEmpty()) {
      return fragments;
    }
    fragments.add(Fragment.text(0, text.length()));
    for (int id : specials) {
      TokenType type = vocab.type(id);
      if (!parseSpecial && (type == TokenType.CONTROL || type == TokenType.UNKNOWN)) {
        continue;
      }
      String special = vocab.text(id);
      List<Fragment> next = new ArrayList<>(fragments.size() + 4);
      for (Fragment f : fragments) {
        if (!f.isText()) {
          next.add(f);
          continue;
        }
        int from = f.start();
        while (true) {
          int match = text.indexOf(special, from);
          if (match < 0 || match + special.length() > f.end()) {
            break;
          }
          if (match > from) {
            next.add(Fragment.text(from, match));
          }
          next.add(new Fragment(id, match, match + special.length()));
          from = match + special.length();
        }
        if (from < f.end()) {
          next.add(Fragment.text(from, f.end()));
        }
      }
      fragments = next;
    }
    return fragments;
  }
}
