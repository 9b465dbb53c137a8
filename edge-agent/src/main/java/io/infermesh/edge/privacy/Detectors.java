package io.infermesh.edge.privacy;

import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The built-in detectors, after Microsoft Presidio's recognizers, and the factories for tenants' own
 * word lists and regexes. Every detector here is immutable and thread-safe; one instance serves all
 * requests.
 *
 * <p>Kinds: {@code EMAIL}, {@code PHONE}, {@code CREDIT_CARD}, {@code IBAN}, {@code IP_ADDRESS},
 * {@code PRC_ID}, {@code US_SSN}, {@code API_KEY}, {@code PRIVATE_KEY}.
 */
public final class Detectors {
  private Detectors() {}

  /**
   * E-mail addresses: a local part of at most 64 chars, 1–8 dot-separated labels of at most 63, and
   * a 2–24 letter top-level domain. A trailing sentence dot is not part of the address.
   */
  public static Detector email() {
    return AnchoredScanners.anchored("EMAIL", "@", AnchoredScanners::email);
  }

  /**
   * Phone numbers: E.164 ({@code +} and 8–15 digits, spaces, dots, dashes or a parenthesised group
   * between), and national formats: NANP ({@code (415) 555-0132}, {@code 415-555-0132}, area and
   * exchange codes starting 2–9), a trunk {@code 0} with 10–12 digits ({@code 020 7946 0958},
   * {@code 030 1234 5678}, {@code 01 23 45 67 89}) and PRC mobiles ({@code 13812345678}). National
   * numbers other than PRC mobiles need a separator: a bare run of ten digits is more often an order
   * number than a phone.
   */
  public static Detector phone() {
    return RegexDetector.of("PHONE", "(?:\\+|\\()?\\d[\\d ().\\-]{5,24}+",
        (t, i) -> (isDigit(t.charAt(i)) || t.charAt(i) == '+' || t.charAt(i) == '(') && !before(t, i, "+.-"),
        PhoneNumbers::end);
  }

  /**
   * Payment card numbers: 13–19 digits, unbroken or in groups of four (4-6-5 for Amex) split by the
   * same space or dash, first digit 2–6 (Mastercard 2-series, Amex, Visa, Mastercard,
   * Discover/UnionPay), Luhn-valid.
   */
  public static Detector paymentCard() {
    return RegexDetector.of("CREDIT_CARD",
        "(?:[2-6]\\d{3}([ \\-]?)\\d{4}\\1\\d{4}\\1\\d{1,7}+|3\\d{3}([ \\-]?)\\d{6}\\2\\d{5})"
            + "(?![\\w\\-])",
        (t, i) -> t.charAt(i) >= '2' && t.charAt(i) <= '6' && !before(t, i, "-"),
        (t, s, e) -> Checksums.luhn(t.subSequence(s, e)) ? e : -1);
  }

  /**
   * IBANs: a country from the IBAN registry, its exact length, single spaces between groups allowed,
   * mod-97 valid.
   */
  public static Detector iban() {
    return RegexDetector.of("IBAN", "[A-Z]{2}\\d{2}+(?: ?[A-Z0-9]){11,30}+",
        (t, i) -> isUpper(t.charAt(i)) && i + 1 < t.length() && isUpper(t.charAt(i + 1)) && !before(t, i, ""),
        Detectors::ibanEnd);
  }

  /**
   * A key cut short ends where its body does; trailing blanks and backslashes are left out, so that
   * masking inside a JSON string never swallows the backslash of an escape such as {@code \"}.
   */
  private static int pemEnd(CharSequence t, int s, int e) {
    if (t.charAt(e - 1) == '-') {
      return e; // through the END line
    }
    while (e > s && (t.charAt(e - 1) == '\\' || Character.isWhitespace(t.charAt(e - 1)))) {
      e--;
    }
    return e;
  }

  private static int ibanEnd(CharSequence t, int s, int e) {
    Integer length = Checksums.IBAN_LENGTHS.get(t.subSequence(s, s + 2).toString());
    if (length == null) {
      return -1;
    }
    StringBuilder compact = new StringBuilder(length);
    int i = s;
    while (i < e && compact.length() < length) {
      char c = t.charAt(i++);
      if (c != ' ') {
        compact.append(c);
      }
    }
    if (compact.length() != length || (i < t.length() && Character.isLetterOrDigit(t.charAt(i)))) {
      return -1;
    }
    return Checksums.ibanMod97(compact) ? i : -1;
  }

  /** IPv4 (dotted quad, each part 0–255) and IPv6 (RFC 4291 text forms, {@code ::} and embedded IPv4). */
  public static Detector ipAddress() {
    return new CompositeDetector("IP_ADDRESS", List.of(
        RegexDetector.of("IP_ADDRESS",
            "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)"
                + "(?![\\w:]|\\.\\d)",
            (t, i) -> isDigit(t.charAt(i)) && !before(t, i, ".:"), (t, s, e) -> e),
        AnchoredScanners.anchored("IP_ADDRESS", ":", AnchoredScanners::ipv6)));
  }

  /**
   * PRC resident identity card numbers: 18 chars, a plausible birth date (1800–2099), and the ISO
   * 7064 MOD 11-2 check char ({@code X} for 10).
   */
  public static Detector prcResidentId() {
    return RegexDetector.of("PRC_ID",
        "[1-9]\\d{5}(?:18|19|20)\\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])\\d{3}[\\dXx](?![\\w])",
        (t, i) -> isDigit(t.charAt(i)) && !before(t, i, ""),
        (t, s, e) -> Checksums.prcResidentId(t.subSequence(s, e)) ? e : -1);
  }

  /**
   * US Social Security numbers written {@code 123-45-6789} or {@code 123 45 6789} (the same separator
   * twice), outside the ranges never issued. Bare nine-digit runs are not matched (Presidio scores
   * them "weak"): without context they are more often other identifiers.
   */
  public static Detector usSsn() {
    return RegexDetector.of("US_SSN", "\\d{3}([\\- ])\\d{2}\\1\\d{4}(?![\\w\\-]|[ ]\\d)",
        (t, i) -> isDigit(t.charAt(i)) && !before(t, i, "-"), (t, s, e) -> Checksums.usSsn(digits(t, s, e)) ? e : -1);
  }

  /**
   * API keys: OpenAI ({@code sk-…}), AWS access key ids ({@code AKIA…}, {@code ASIA…}), GitHub tokens
   * ({@code ghp_…}, {@code github_pat_…}), Slack ({@code xox…-}), Google ({@code AIza…}), and a value
   * of at least 16 chars with at least 3 bits of entropy per char after {@code api_key=}, {@code
   * token:}, {@code secret=}, {@code password=} and the like (the value only).
   */
  public static Detector apiKey() {
    return new CompositeDetector("API_KEY", List.of(
        RegexDetector.of("API_KEY",
            "(?:sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\\-]{20,256}+"
                + "|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
                + "|gh[pousr]_[A-Za-z0-9]{36,255}+|github_pat_[A-Za-z0-9_]{22,255}+"
                + "|xox[abposr]-[A-Za-z0-9\\-]{10,255}+|AIza[0-9A-Za-z_\\-]{35}(?![\\w\\-]))",
            (t, i) -> "sAgx".indexOf(t.charAt(i)) >= 0 && !before(t, i, "-"), (t, s, e) -> e),
        AnchoredScanners.anchored("API_KEY", "=:", AnchoredScanners::assignedSecret)));
  }

  /**
   * PEM private keys ({@code -----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----} through its
   * END line), including one cut short, which is masked to the end of its base64 body. Escaped
   * newlines ({@code \n} inside JSON) count as body.
   */
  public static Detector privateKey() {
    return RegexDetector.of("PRIVATE_KEY",
        "-----BEGIN (?:[A-Z0-9]{1,12}+ ){0,3}PRIVATE KEY-----[A-Za-z0-9+/=\\s\\\\:,]{0,65536}+"
            + "(?:-----END (?:[A-Z0-9]{1,12}+ ){0,3}PRIVATE KEY-----)?",
        (t, i) -> t.charAt(i) == '-' && i + 10 < t.length() && t.charAt(i + 5) == 'B', Detectors::pemEnd);
  }

  /** Every built-in detector, most specific first (the order breaks ties between overlapping matches). */
  public static List<Detector> builtIns() {
    return List.of(privateKey(), apiKey(), email(), iban(), paymentCard(), prcResidentId(), usSsn(),
        ipAddress(), phone());
  }

  /**
   * A tenant's word list: whole words and phrases (words separated by any non-word chars in the
   * text), compared case-insensitively.
   *
   * @param kind the detector's kind, e.g. {@code CODENAME}
   */
  public static Detector words(String kind, Collection<String> words) {
    return WordListDetector.of(checkKind(kind), words);
  }

  /**
   * A tenant's own regex. Java regexes can backtrack exponentially and a tenant's cannot be proven
   * linear, so each run may read at most {@code 64 × length + 4096} chars; past that it throws {@link
   * DetectorBudgetExceededException} and the masker fails the request closed.
   */
  public static Detector regex(String kind, String regex) {
    return new BudgetedRegexDetector(checkKind(kind), Pattern.compile(regex), 64, 4096);
  }

  static String checkKind(String kind) {
    if (!kind.matches("[A-Z][A-Z0-9_]{0,31}")) {
      throw new IllegalArgumentException(
          "detector kind '" + kind + "' must be 1-32 upper case letters, digits or _, starting with a letter");
    }
    return kind;
  }

  /** Whether the char before {@code i} is a letter, a digit, {@code _} or one of {@code also}. */
  static boolean before(CharSequence t, int i, String also) {
    if (i == 0) {
      return false;
    }
    char c = t.charAt(i - 1);
    return Character.isLetterOrDigit(c) || c == '_' || also.indexOf(c) >= 0;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isUpper(char c) {
    return c >= 'A' && c <= 'Z';
  }

  private static String digits(CharSequence t, int s, int e) {
    StringBuilder b = new StringBuilder(e - s);
    for (int i = s; i < e; i++) {
      char c = t.charAt(i);
      if (c >= '0' && c <= '9') {
        b.append(c);
      }
    }
    return b.toString();
  }
}
