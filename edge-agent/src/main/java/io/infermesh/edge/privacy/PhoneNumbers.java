package io.infermesh.edge.privacy;

/**
 * Which digit runs are phone numbers: E.164 ({@code +}, 8–15 digits) and the national formats named
 * in {@link Detectors#phone()}. No number plan per country (libphonenumber's job): a cheap structural
 * check, good enough to mask, not to dial.
 */
final class PhoneNumbers {
  private PhoneNumbers() {}

  /**
   * The end of the longest plausible phone number in the candidate {@code [s, e)}, trying each end
   * after a digit from the right, or {@code -1}.
   */
  static int end(CharSequence t, int s, int e) {
    boolean wordAfter = e < t.length() && (Character.isLetterOrDigit(t.charAt(e)) || t.charAt(e) == '_');
    for (int p = e; p > s; p--) {
      if (isDigit(t.charAt(p - 1)) && (p == e ? !wordAfter : !isDigit(t.charAt(p))) && plausible(t, s, p)) {
        return p;
      }
    }
    return -1;
  }

  static boolean plausible(CharSequence t, int s, int p) {
    char[] d = new char[16];
    int digits = 0;
    boolean plus = false;
    boolean separated = false;
    int paren = 0; // 0 none, 1 open, 2 closed
    char prev = 0;
    for (int i = s; i < p; i++) {
      char c = t.charAt(i);
      if (isDigit(c)) {
        if (digits == 16) {
          return false;
        }
        d[digits++] = c;
      } else if (c == '+') {
        if (i != s) {
          return false;
        }
        plus = true;
      } else if (c == '(') {
        if (paren != 0) {
          return false;
        }
        paren = 1;
        separated = true;
      } else if (c == ')') {
        if (paren != 1 || !isDigit(prev)) {
          return false;
        }
        paren = 2;
      } else { // ' ', '.', '-'
        if (prev == ' ' || prev == '.' || prev == '-' || prev == '(') {
          return false;
        }
        separated = true;
      }
      prev = c;
    }
    if (paren == 1 || digits > 15) {
      return false;
    }
    if (plus) {
      return digits >= 8 && d[0] != '0';
    }
    if (digits == 11 && d[0] == '1' && d[1] >= '3') {
      return true; // PRC mobile, or NANP with its country code
    }
    if (!separated) {
      return false;
    }
    if (digits == 10 && d[0] >= '2' && d[3] >= '2') {
      return true; // NANP: area and exchange codes start 2-9
    }
    return d[0] == '0' && d[1] != '0' && digits >= 10 && digits <= 12; // a trunk prefix
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
