package io.infermesh.edge.privacy;

import java.util.Map;

/** The check-digit algorithms that turn a number-shaped match into a detection. */
final class Checksums {
  private Checksums() {}

  /** Luhn (ISO/IEC 7812-1) over the digits of {@code s}, other chars skipped. */
  static boolean luhn(CharSequence s) {
    int sum = 0;
    boolean twice = false;
    for (int i = s.length() - 1; i >= 0; i--) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        continue;
      }
      int d = c - '0';
      if (twice) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
      twice = !twice;
    }
    return sum % 10 == 0;
  }

  /**
   * IBAN lengths by country (the SWIFT IBAN registry); a country not listed is not accepted, as
   * Presidio does, so that a code-like word followed by digits is not taken for an IBAN.
   */
  static final Map<String, Integer> IBAN_LENGTHS = Map.ofEntries(
      Map.entry("AD", 24), Map.entry("AE", 23), Map.entry("AL", 28), Map.entry("AT", 20),
      Map.entry("AZ", 28), Map.entry("BA", 20), Map.entry("BE", 16), Map.entry("BG", 22),
      Map.entry("BH", 22), Map.entry("BR", 29), Map.entry("CH", 21), Map.entry("CR", 22),
      Map.entry("CY", 28), Map.entry("CZ", 24), Map.entry("DE", 22), Map.entry("DK", 18),
      Map.entry("DO", 28), Map.entry("EE", 20), Map.entry("EG", 29), Map.entry("ES", 24),
      Map.entry("FI", 18), Map.entry("FO", 18), Map.entry("FR", 27), Map.entry("GB", 22),
      Map.entry("GE", 22), Map.entry("GI", 23), Map.entry("GL", 18), Map.entry("GR", 27),
      Map.entry("GT", 28), Map.entry("HR", 21), Map.entry("HU", 28), Map.entry("IE", 22),
      Map.entry("IL", 23), Map.entry("IS", 26), Map.entry("IT", 27), Map.entry("JO", 30),
      Map.entry("KW", 30), Map.entry("KZ", 20), Map.entry("LB", 28), Map.entry("LI", 21),
      Map.entry("LT", 20), Map.entry("LU", 20), Map.entry("LV", 21), Map.entry("MC", 27),
      Map.entry("MD", 24), Map.entry("ME", 22), Map.entry("MK", 19), Map.entry("MR", 27),
      Map.entry("MT", 31), Map.entry("MU", 30), Map.entry("NL", 18), Map.entry("NO", 15),
      Map.entry("PK", 24), Map.entry("PL", 28), Map.entry("PS", 29), Map.entry("PT", 25),
      Map.entry("QA", 29), Map.entry("RO", 24), Map.entry("RS", 22), Map.entry("SA", 24),
      Map.entry("SE", 24), Map.entry("SI", 19), Map.entry("SK", 24), Map.entry("SM", 27),
      Map.entry("TN", 24), Map.entry("TR", 26), Map.entry("UA", 29), Map.entry("VG", 24),
      Map.entry("XK", 20));

  /**
   * ISO 13616 mod-97 over a compact IBAN (no spaces, upper case): the first four chars moved to the
   * end, letters read as 10..35, the number mod 97 must be 1. Computed digit by digit, no BigInteger.
   */
  static boolean ibanMod97(CharSequence iban) {
    int n = iban.length();
    if (n < 5) {
      return false;
    }
    int rem = 0;
    for (int k = 0; k < n; k++) {
      char c = iban.charAt((k + 4) % n);
      if (c >= '0' && c <= '9') {
        rem = (rem * 10 + (c - '0')) % 97;
      } else if (c >= 'A' && c <= 'Z') {
        rem = (rem * 100 + (c - 'A' + 10)) % 97;
      } else {
        return false;
      }
    }
    return rem == 1;
  }

  /**
   * The PRC resident ID's last char (GB 11643-1999, ISO 7064 MOD 11-2): the weighted sum of the first
   * 17 digits with weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 written {@code X}.
   */
  static boolean prcResidentId(CharSequence id) {
    if (id.length() != 18) {
      return false;
    }
    int sum = 0;
    int weight = 1; // 2^0 for the check position, doubled leftwards
    for (int i = 16; i >= 0; i--) {
      weight = weight * 2 % 11;
      char c = id.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
      sum += (c - '0') * weight;
    }
    int check = (12 - sum % 11) % 11;
    char last = id.charAt(17);
    return check == 10 ? last == 'X' || last == 'x' : last == '0' + check;
  }

  /**
   * A US SSN's nine digits, checked against the ranges never issued (area 000, 666 and 900–999, group
   * 00, serial 0000), one repeated digit, and the numbers Presidio also rejects as well-known samples
   * (123-45-6789, 078-05-1120, the Woolworth wallet card).
   */
  static boolean usSsn(String digits) {
    if (digits.length() != 9) {
      return false;
    }
    int area = Integer.parseInt(digits, 0, 3, 10);
    int group = Integer.parseInt(digits, 3, 5, 10);
    int serial = Integer.parseInt(digits, 5, 9, 10);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) {
      return false;
    }
    if (digits.chars().allMatch(c -> c == digits.charAt(0))) {
      return false;
    }
    return !digits.equals("123456789") && !digits.equals("078051120");
  }
}
