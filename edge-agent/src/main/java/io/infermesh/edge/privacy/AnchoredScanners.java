package io.infermesh.edge.privacy;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Detectors that start from a char prose rarely holds ({@code @}, {@code :}, {@code =}) and read a
 * bounded distance either side of it, instead of trying a regex at every position: on ordinary text
 * they cost one {@code indexOf} pass. Each one skips anchors inside what it has already read, so every
 * char is read a bounded number of times.
 */
final class AnchoredScanners {
  private AnchoredScanners() {}

  /** Reads the candidate around one anchor; returns where to resume the anchor search. */
  @FunctionalInterface
  interface Scan {
    int scan(CharSequence text, int anchor, List<Detector.Match> out);
  }

  /** A detector that runs {@code scan} at each {@code anchor} char. */
  static Detector anchored(String kind, String anchors, Scan scan) {
    requireNonNull(anchors, "anchors");
    requireNonNull(scan, "scan");
    return new Detector() {
      @Override
      public String kind() {
        return kind;
      }

      @Override
      public void detect(CharSequence text, List<Match> out) {
        int n = text.length();
        int i = 0;
        while (i < n) {
          if (anchors.indexOf(text.charAt(i)) < 0) {
            i++;
            continue;
          }
          i = Math.max(i + 1, scan.scan(text, i, out));
        }
      }

      @Override
      public String toString() {
        return kind;
      }
    };
  }

  // ---- e-mail, anchored on '@'

  private static boolean isLocal(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
        || c == '%' || c == '+' || c == '-';
  }

  private static boolean isLabel(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-';
  }

  private static boolean isLetter(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z';
  }

  /**
   * A local part of 1–64 chars (the whole run before the {@code @}), then 1–8 labels of 1–63 chars and
   * a 2–24 letter top-level domain, not followed by a label char.
   */
  static int email(CharSequence t, int at, List<Detector.Match> out) {
    int start = at;
    while (start > 0 && at - start < 65 && isLocal(t.charAt(start - 1))) {
      start--;
    }
    if (start == at || at - start > 64) {
      return at + 1;
    }
    int n = t.length();
    int i = at + 1;
    int labels = 0;
    int end = -1;
    while (labels < 9) {
      int ls = i;
      boolean letters = true;
      while (i < n && i - ls <= 63 && isLabel(t.charAt(i))) {
        letters &= isLetter(t.charAt(i));
        i++;
      }
      if (i == ls || i - ls > 63) {
        break;
      }
      labels++;
      if (labels >= 2 && letters && i - ls >= 2 && i - ls <= 24) {
        end = i;
      }
      if (i + 1 < n && t.charAt(i) == '.' && isLabel(t.charAt(i + 1))) {
        i++;
      } else {
        break;
      }
    }
    if (end < 0) {
      return at + 1;
    }
    out.add(new Detector.Match(start, end, "EMAIL"));
    return end;
  }

  // ---- IPv6, anchored on ':'

  private static boolean isV6(char c) {
    return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.';
  }

  private static boolean isWord(char c) {
    return Character.isLetterOrDigit(c) || c == '_';
  }

  /** The run of hex digits, colons and dots around a colon (45 chars at most), checked by {@link Ipv6}. */
  static int ipv6(CharSequence t, int colon, List<Detector.Match> out) {
    int n = t.length();
    int start = colon;
    while (start > 0 && colon - start < 45 && isV6(t.charAt(start - 1))) {
      start--;
    }
    int end = colon + 1;
    while (end < n && end - start < 46 && isV6(t.charAt(end))) {
      end++;
    }
    if (end - start > 45 || start > 0 && isWord(t.charAt(start - 1)) || end < n && isWord(t.charAt(end))
        || start > 0 && t.charAt(start) == '.') {
      return end;
    }
    int e = Ipv6.end(t, start, end);
    if (e > start) {
      out.add(new Detector.Match(start, e, "IP_ADDRESS"));
    }
    return end;
  }

  // ---- secrets after api_key= / token: / password= ..., anchored on '=' and ':'

  private static final String[] SECRET_NAMES = {"apikey", "api_key", "api-key", "accesskey", "access_key",
      "access-key", "secret", "secretkey", "secret_key", "secret-key", "token", "password", "passwd"};

  private static boolean isSecretChar(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
        || c == '+' || c == '/' || c == '=' || c == '.' || c == '~';
  }

  /**
   * {@code NAME["']? *[:=] *["']?VALUE}: NAME one of {@link #SECRET_NAMES} (any case, not the end of a
   * longer word), VALUE 16–512 secret chars with at least 3 bits of entropy per char. Only the value
   * is reported.
   */
  static int assignedSecret(CharSequence t, int sep, List<Detector.Match> out) {
    int n = t.length();
    int k = sep - 1;
    int spaces = 0;
    while (k >= 0 && (t.charAt(k) == ' ' || t.charAt(k) == '\t') && spaces < 4) {
      k--;
      spaces++;
    }
    if (k >= 0 && (t.charAt(k) == '"' || t.charAt(k) == '\'')) {
      k--;
    }
    if (!endsWithSecretName(t, k + 1)) {
      return sep + 1;
    }
    int v = sep + 1;
    spaces = 0;
    while (v < n && (t.charAt(v) == ' ' || t.charAt(v) == '\t') && spaces < 4) {
      v++;
      spaces++;
    }
    if (v < n && (t.charAt(v) == '"' || t.charAt(v) == '\'')) {
      v++;
    }
    int end = v;
    while (end < n && end - v < 513 && isSecretChar(t.charAt(end))) {
      end++;
    }
    if (end - v < 16 || end - v > 512 || Entropy.bitsPerChar(t, v, end) < 3.0) {
      return sep + 1;
    }
    out.add(new Detector.Match(v, end, "API_KEY"));
    return end;
  }

  private static boolean endsWithSecretName(CharSequence t, int end) {
    for (String name : SECRET_NAMES) {
      int s = end - name.length();
      if (s < 0 || (s > 0 && Character.isLetterOrDigit(t.charAt(s - 1)))) {
        continue;
      }
      boolean same = true;
      for (int i = 0; i < name.length() && same; i++) {
        same = Character.toLowerCase(t.charAt(s + i)) == name.charAt(i);
      }
      if (same) {
        return true;
      }
    }
    return false;
  }
}
