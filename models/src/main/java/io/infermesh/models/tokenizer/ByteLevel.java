package io.infermesh.models.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's byte-level alphabet: each of the 256 byte values stands for one printable code point,
 * so that any byte sequence is a string of "characters" BPE can merge. Printable Latin-1 bytes
 * stand for themselves; the rest map in order to U+0100 onwards (space is {@code Ġ}, newline
 * {@code Ċ}).
 *
 * <p>Immutable and thread-safe.
 */
final class ByteLevel {
  private static final char[] BYTE_TO_CHAR = new char[256];
  private static final int[] CHAR_TO_BYTE = new int[512];

  static {
    Arrays.fill(CHAR_TO_BYTE, -1);
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char c = printable ? (char) b : (char) (256 + n++);
      BYTE_TO_CHAR[b] = c;
      CHAR_TO_BYTE[c] = b;
    }
  }

  private ByteLevel() {}

  /** The character standing for byte {@code b} (0..255). */
  static char charOf(int b) {
    return BYTE_TO_CHAR[b & 0xFF];
  }

  /** The byte a character stands for, or -1 if it stands for none. */
  static int byteOf(int c) {
    return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
  }

  /** The UTF-8 bytes of code points {@code cpts[from, to)} spelled in the byte alphabet. */
  static String encode(int[] cpts, int from, int to) {
    byte[] utf8 = new String(cpts, from, to - from).getBytes(StandardCharsets.UTF_8);
    char[] out = new char[utf8.length];
    for (int i = 0; i < utf8.length; i++) {
      out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
    }
    return new String(out);
  }

  /**
   * The bytes a byte-alphabet token text stands for, as llama.cpp's {@code llama_decode_text}:
   * a character outside the alphabet becomes {@code [UNK_BYTE_0x..<text>]}.
   */
  static byte[] decode(String tokenText) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(tokenText.length());
    tokenText.codePoints().forEach(cp -> {
      int b = byteOf(cp);
      if (b >= 0) {
        out.write(b);
      } else {
        StringBuilder sb = new StringBuilder("[UNK_BYTE_0x");
        for (byte u : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
          sb.append(String.format("%02x", u & 0xFF));
        }
        sb.append(tokenText).append(']');
        out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
      }
    });
    return out.toByteArray();
  }
}
