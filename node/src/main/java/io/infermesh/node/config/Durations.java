package io.infermesh.node.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one grammar for durations in every infermesh config file and flag: {@code 0}, a number and
 * a unit ({@code 250ms}, {@code 1.5s}, {@code 10s}, {@code 5m}, {@code 2h}, {@code 1d}; units
 * {@code ms s m h d}, any case), or ISO-8601 ({@code PT10S}). Never negative. Stateless.
 */
public final class Durations {
  /** What the grammar accepts, for error messages. */
  public static final String EXPECTED = "a duration such as 0, 500ms, 1.5s, 10s, 5m, 2h, 1d or PT10S";
  private static final Pattern SIMPLE = Pattern.compile("(\\d{1,12}(?:\\.\\d{1,9})?)(ms|s|m|h|d)");

  private Durations() {}

  /**
   * Returns {@code value} when it is positive, for builders' checks.
   *
   * @param name what the value is, for the message ("fsync interval", "refresh interval")
   * @throws IllegalArgumentException "NAME must be positive, got VALUE" when zero or negative
   */
  public static Duration requirePositive(Duration value, String name) {
    if (value == null) {
      throw new NullPointerException(name);
    }
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
    return value;
  }

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException saying what the grammar accepts, when {@code text} is not one
   */
  public static Duration parse(String text) {
    String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    if (t.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = SIMPLE.matcher(t);
    if (m.matches()) {
      BigDecimal unitNanos = BigDecimal.valueOf(switch (m.group(2)) {
        case "ms" -> 1_000_000L;
        case "s" -> 1_000_000_000L;
        case "m" -> 60_000_000_000L;
        case "h" -> 3_600_000_000_000L;
        default -> 86_400_000_000_000L;
      });
      BigDecimal nanos = new BigDecimal(m.group(1)).multiply(unitNanos);
      try {
        return Duration.ofNanos(nanos.setScale(0, RoundingMode.HALF_UP).longValueExact());
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("must be " + EXPECTED + " (at most about 292 years), got '" + text + "'");
      }
    }
    try {
      Duration d = Duration.parse(t.toUpperCase(Locale.ROOT));
      if (d.isNegative()) {
        throw new IllegalArgumentException("must not be negative, got '" + text + "'");
      }
      return d;
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("must be " + EXPECTED + ", got '" + text + "'");
    }
  }
}
