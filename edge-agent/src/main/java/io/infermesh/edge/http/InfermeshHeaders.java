package io.infermesh.edge.http;

import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.RoutingHints;
import io.infermesh.edge.serve.VersionPin;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the {@code x-infermesh-*} request headers, failing closed (DESIGN.md's front-door rule):
 * {@code x-infermesh-require: core}, {@code x-infermesh-privacy: local-only}, {@code
 * x-infermesh-priority: high|normal|low}, {@code x-infermesh-reanswer: deferred}, {@code
 * x-infermesh-budget-ms: 1…86400000} and {@code x-infermesh-model-version} (a version pin, {@link
 * VersionPin}, compared case-sensitively). Any other
 * {@code x-infermesh-*} header, any other value, an empty value or a header sent twice is a 400
 * naming the header: a hint the edge does not understand may be one that was meant to keep the
 * prompt on this device. Values are compared trimmed and case-insensitively. Linear in the
 * headers' size; stateless; thread-safe.
 */
final class InfermeshHeaders {
  static final String PREFIX = "x-infermesh-";
  static final String BUDGET = PREFIX + "budget-ms";
  /** The longest latency budget a caller may state: a day (a request's own timeout caps it anyway). */
  static final long MAX_BUDGET_MILLIS = Duration.ofDays(1).toMillis();

  /**
   * The headers as routing hints and the caller's latency budget.
   *
   * @param hints lower-case hint names ({@code require}, {@code privacy}, {@code priority}) and values
   * @param budget {@code x-infermesh-budget-ms}, if sent
   */
  record Parsed(Map<String, String> hints, Optional<Duration> budget) {}

  private InfermeshHeaders() {}

  /** Reads and checks every {@code x-infermesh-*} header of {@code request}. */
  static Parsed read(HttpServletRequest request) {
    Map<String, String> hints = new HashMap<>();
    Optional<Duration> budget = Optional.empty();
    Enumeration<String> names = request.getHeaderNames();
    for (String raw : names == null ? List.<String>of() : Collections.list(names)) {
      String name = raw.toLowerCase(Locale.ROOT);
      if (!name.startsWith(PREFIX)) {
        continue;
      }
      String header = echo(name);
      List<String> values = Collections.list(request.getHeaders(raw));
      if (values.size() != 1) {
        throw EdgeException.invalid(header, header + ": send it once, got " + values.size() + " values");
      }
      String value = values.get(0).trim();
      if (name.equals(BUDGET)) {
        budget = Optional.of(budget(value));
        continue;
      }
      String hint = name.substring(PREFIX.length());
      if (hint.equals(VersionPin.HINT)) {
        hints.put(hint, VersionPin.check(VersionPin.HEADER, value));
        continue;
      }
      if (!RoutingHints.ACCEPTED.containsKey(hint)) {
        throw EdgeException.invalid(header, header + ": unknown header; the x-infermesh-* request headers are "
            + PREFIX + "require, " + PREFIX + "privacy, " + PREFIX + "priority, " + PREFIX + "reanswer, " + BUDGET + " and "
            + VersionPin.HEADER);
      }
      RoutingHints.check(PREFIX, hint, value.toLowerCase(Locale.ROOT));
      hints.put(hint, value.toLowerCase(Locale.ROOT));
    }
    return new Parsed(hints, budget);
  }

  /** {@code x-infermesh-budget-ms}: 1 to 9 digits, at least 1 ms and at most a day. */
  private static Duration budget(String value) {
    boolean digits = !value.isEmpty() && value.length() <= 9 && value.chars().allMatch(c -> c >= '0' && c <= '9');
    long millis = digits ? Long.parseLong(value) : -1;
    if (millis < 1 || millis > MAX_BUDGET_MILLIS) {
      throw EdgeException.invalid(BUDGET, BUDGET + ": must be a whole number of milliseconds from 1 to "
          + MAX_BUDGET_MILLIS + ", got '" + echo(value) + "'");
    }
    return Duration.ofMillis(millis);
  }

  private static String echo(String text) {
    return text.length() <= 64 ? text : text.substring(0, 64) + "…";
  }
}
