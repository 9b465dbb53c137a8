package io.infermesh.models.tokenizer;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated tokens into text as they arrive, emitting only whole UTF-8 characters: a byte
 * token or byte-level piece that ends inside a character (half of {@code é}, three quarters of
 * {@code 🤖}) is held back until the rest arrives. Bytes that can never form a character are
 * emitted as U+FFFD at once rather than held.
 *
 * <p>Pieces are emitted as llama.cpp's server streams them: no leading space is stripped.
 *
 * <p>Not thread-safe: one instance per generation stream.
 */
public final class StreamingDecoder {
  private final Tokenizer tokenizer;
  private final boolean renderSpecial;
  private final ByteArrayOutputStream scratch = new ByteArrayOutputStream();
  private byte[] pending = new byte[0];

  StreamingDecoder(Tokenizer tokenizer, boolean renderSpecial) {
    this.tokenizer = requireNonNull(tokenizer, "tokenizer");
    this.renderSpecial = renderSpecial;
  }

  /**
   * Adds one token and returns the text it completes (possibly empty).
   *
   * @throws IllegalArgumentException if the id is outside the vocabulary
   */
  public String accept(int token) {
    scratch.reset();
    scratch.write(pending, 0, pending.length);
    tokenizer.appendPiece(token, renderSpecial, scratch);
    byte[] bytes = scratch.toByteArray();
    int complete = completePrefix(bytes);
    pending = Arrays.copyOfRange(bytes, complete, bytes.length);
    return new String(bytes, 0, complete, StandardCharsets.UTF_8);
  }

  /** Returns whatever is held back (as U+FFFD if incomplete) and resets. */
  public String flush() {
    String rest = new String(pending, StandardCharsets.UTF_8);
    pending = new byte[0];
    return rest;
  }

  /** Whether bytes are held back waiting for the rest of a character. */
  public boolean hasPending() {
    return pending.length > 0;
  }

  /**
   * Length of the longest prefix not ending inside a character that may still complete: the
   * tail is held back only if it is a valid start of a multi-byte sequence.
   */
  static int completePrefix(byte[] b) {
    int n = b.length;
    // A sequence is at most 4 bytes: look at the last 3 for an unfinished lead byte.
    for (int back = 1; back <= Math.min(3, n); back++) {
      int lead = b[n - back] & 0xFF;
      if ((lead & 0xC0) == 0x80) {
        continue; // continuation byte: keep looking for its lead
      }
      int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
      if (lead >= 0xF5 || (lead >= 0x80 && lead < 0xC2)) {
        return n; // not a valid lead byte: nothing to wait for
      }
      return need > back && validSoFar(b, n - back, back) ? n - back : n;
    }
    return n;
  }

  /** Whether {@code len} bytes at {@code from} are a valid prefix of a UTF-8 sequence. */
  private static boolean validSoFar(byte[] b, int from, int len) {
    int lead = b[from] & 0xFF;
    if (len >= 2) {
      int second = b[from + 1] & 0xFF;
      if (lead == 0xE0 && second < 0xA0) return false; // overlong
      if (lead == 0xED && second > 0x9F) return false; // surrogate
      if (lead == 0xF0 && second < 0x90) return false; // overlong
      if (lead == 0xF4 && second > 0x8F) return false; // above U+10FFFF
    }
    return true;
  }
}
