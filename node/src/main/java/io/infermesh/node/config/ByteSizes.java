package io.infermesh.node.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one grammar for sizes in bytes in every infermesh config file: a whole number of bytes
 * ({@code 1048576}) or one with a binary unit ({@code 512KiB}, {@code 64MiB}, {@code 1GiB}; {@code
 * k}/{@code KB}, {@code M}/{@code MB}, {@code G}/{@code GB} mean the same powers of 1024), any case.
 * Stateless.
 */
public final class ByteSizes {
  /** What the grammar accepts, for error messages. */
  public static final String EXPECTED = "a size such as 1048576, 512KiB, 64MiB or 1GiB";
  private static final Pattern SIZE = Pattern.compile("(\\d{1,18})\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

  private ByteSizes() {}

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException saying what the grammar accepts, when {@code text} is not one
   *     or does not fit a long
   */
  public static long parse(String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("must be " + EXPECTED + ", got '" + text + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2);
    long multiplier = switch (unit.charAt(0)) {
      case 'k' -> 1L << 10;
      case 'm' -> 1L << 20;
      case 'g' -> 1L << 30;
      default -> 1L;
    };
    if (n > Long.MAX_VALUE / multiplier) {
      throw new IllegalArgumentException("is too large: '" + text + "'");
    }
    return n * multiplier;
  }
}
