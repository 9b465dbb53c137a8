package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.Durations;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Renewing this edge's mesh certificate over the mesh ({@code escalation.tls.renew} in {@code
 * edge.yaml}): before it expires, the edge sends a CSR for its own identity to the signer over
 * mutual TLS with its current certificate, writes the new key and certificate over its files and
 * reloads them without a restart. Built with {@link #builder(String)}; validated when built.
 *
 * @param signer the gRPC target of the signer ({@code host:port}; the server must present a
 *     {@code control} identity of this edge's trust domain)
 * @param before when to renew: a fraction of the lifetime still left ({@code 0.33}: at two thirds
 *     of the lifetime) or a margin before expiry ({@code 10m})
 * @param timeout the deadline of one renewal call
 * @param backoff the wait after the first failed attempt; doubled after each further failure
 * @param maxBackoff the longest wait between attempts
 */
public record Renewal(String signer, Before before, Duration timeout, Duration backoff, Duration maxBackoff) {
  /** Renew when a third of the lifetime is left. */
  public static final Before DEFAULT_BEFORE = new Before.Fraction(1.0 / 3);
  /** The deadline of one renewal call when none is set. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
  /** The wait after the first failure when none is set. */
  public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);
  /** The longest wait between attempts when none is set. */
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(1);

  public Renewal {
    if (signer == null || signer.isBlank()) {
      throw new ConfigException("escalation.tls.renew.signer", "must name the signer, e.g. signer.mesh.local:18443");
    }
    requireNonNull(before, "escalation.tls.renew.before");
    positive("escalation.tls.renew.timeout", timeout);
    positive("escalation.tls.renew.backoff", backoff);
    positive("escalation.tls.renew.max_backoff", maxBackoff);
    if (maxBackoff.compareTo(backoff) < 0) {
      throw new ConfigException("escalation.tls.renew.max_backoff", "must be at least backoff (" + backoff
          + "), got " + maxBackoff);
    }
  }

  private static void positive(String key, Duration value) {
    requireNonNull(value, key);
    if (value.isZero() || value.isNegative()) {
      throw new ConfigException(key, "must be positive, got " + value);
    }
  }

  /** Renewal from {@code signer}, every other setting at its default until set. */
  public static Builder builder(String signer) {
    return new Builder(signer);
  }

  /** When to renew, relative to the current certificate's validity. */
  public sealed interface Before {
    /**
     * Parses {@code escalation.tls.renew.before}: a fraction in (0, 1) of the lifetime still left
     * ({@code 0.33}) or a duration before expiry in the mesh's grammar ({@code 10m}).
     *
     * @throws ConfigException naming the key when it is neither
     */
    static Before parse(String text) {
      requireNonNull(text, "text");
      String value = text.strip();
      if (Fraction.NUMBER.matcher(value).matches()) {
        double fraction = Double.parseDouble(value);
        if (!(fraction > 0 && fraction < 1)) {
          throw new ConfigException("escalation.tls.renew.before", "a fraction of the lifetime left must be in"
              + " (0, 1), such as 0.33; got " + value + " (or give a duration before expiry, such as 10m)");
        }
        return new Fraction(fraction);
      }
      try {
        return new Margin(Durations.parse(value));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("escalation.tls.renew.before", "must be a fraction of the lifetime left"
            + " (0.33) or a duration before expiry (10m): " + e.getMessage());
      }
    }

    /**
     * Renew when {@code remaining} of the lifetime is left.
     *
     * @param remaining in (0, 1)
     */
    record Fraction(double remaining) implements Before {
      static final Pattern NUMBER = Pattern.compile("\\d*\\.?\\d+");

      public Fraction {
        if (!(remaining > 0 && remaining < 1)) {
          throw new ConfigException("escalation.tls.renew.before", "must be in (0, 1), got " + remaining);
        }
      }
    }

    /** Renew {@code margin} before expiry (at once when less than that is left). */
    record Margin(Duration margin) implements Before {
      public Margin {
        positive("escalation.tls.renew.before", margin);
      }
    }
  }

  /** Collects a {@link Renewal}. Not thread-safe. */
  public static final class Builder {
    private final String signer;
    private Before before = DEFAULT_BEFORE;
    private Duration timeout = DEFAULT_TIMEOUT;
    private Duration backoff = DEFAULT_BACKOFF;
    private Duration maxBackoff = DEFAULT_MAX_BACKOFF;

    private Builder(String signer) {
      this.signer = signer;
    }

    /** {@code before}; default a third of the lifetime left. */
    public Builder before(Before before) {
      this.before = before;
      return this;
    }

    /** {@code timeout}; default 10s. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /** {@code backoff} and {@code max_backoff}; default 1s doubling up to 1m. */
    public Builder backoff(Duration backoff, Duration maxBackoff) {
      this.backoff = backoff;
      this.maxBackoff = maxBackoff;
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public Renewal build() {
      return new Renewal(signer, before, timeout, backoff, maxBackoff);
    }
  }
}
