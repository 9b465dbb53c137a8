package io.infermesh.edge.privacy;

/** RFC 4291 section 2.2 text forms, parsed by hand (no resolver, no allocation per group). */
final class Ipv6 {
  private Ipv6() {}

  /** The end of the IPv6 address in {@code [s, e)}, trailing sentence dots dropped, or {@code -1}. */
  static int end(CharSequence t, int s, int e) {
    while (e > s && t.charAt(e - 1) == '.') {
      e--;
    }
    return valid(t, s, e) ? e : -1;
  }

  static boolean valid(CharSequence t, int s, int e) {
    int groups = 0;
    boolean compressed = false;
    int i = s;
    if (e - s >= 2 && t.charAt(s) == ':' && t.charAt(s + 1) == ':') {
      compressed = true;
      i = s + 2;
      if (i == e) {
        return false; // "::" alone names no host
      }
    } else if (e > s && t.charAt(s) == ':') {
      return false;
    }
    while (i < e) {
      int j = i;
      while (j < e && j - i < 5 && Character.digit(t.charAt(j), 16) >= 0) {
        j++;
      }
      if (j < e && t.charAt(j) == '.') {
        // An embedded IPv4 address ends the text and counts as two groups.
        return ipv4(t, i, e) && (compressed ? groups <= 5 : groups == 6);
      }
      if (j == i || j - i > 4) {
        return false;
      }
      groups++;
      if (j == e) {
        break;
      }
      if (t.charAt(j) != ':') {
        return false;
      }
      if (j + 1 < e && t.charAt(j + 1) == ':') {
        if (compressed) {
          return false;
        }
        compressed = true;
        i = j + 2;
      } else {
        i = j + 1;
        if (i == e) {
          return false; // a single trailing colon
        }
      }
    }
    return compressed ? groups <= 7 : groups == 8;
  }

  private static boolean ipv4(CharSequence t, int s, int e) {
    int parts = 0;
    int i = s;
    while (i <= e) {
      int j = i;
      int value = 0;
      while (j < e && j - i < 3 && t.charAt(j) >= '0' && t.charAt(j) <= '9') {
        value = value * 10 + t.charAt(j) - '0';
        j++;
      }
      if (j == i || value > 255 || (j - i > 1 && t.charAt(i) == '0')) {
        return false;
      }
      parts++;
      if (j == e) {
        return parts == 4;
      }
      if (t.charAt(j) != '.' || parts == 4) {
        return false;
      }
      i = j + 1;
    }
    return false;
  }
}
