package io.infermesh.edge.config;

import io.infermesh.node.config.ConfigException;
import java.time.Duration;

/**
 * The front door's bounds ({@code limits} in {@code edge.yaml}): what one client may send and
 * hold. Checked before anything reaches the engine, in time linear in what was sent; the fixed
 * bounds (stop strings, JSON nesting and string sizes) are in the edge-agent README.
 *
 * @param maxMessages chat messages per request (HTTP and gRPC)
 * @param maxInputBytes UTF-8 bytes of a request's input: every message's content and name, or the
 *     prompt (HTTP and gRPC; the HTTP body is bounded by {@code http.max_body_bytes} as well)
 * @param headerTimeout how long a new HTTP connection may take to send its first request's line
 *     and headers before it is closed
 * @param idleTimeout how long an HTTP connection may stay silent (between keep-alive requests,
 *     or while a request body stops arriving, which is answered 408) before it is closed; a
 *     request waiting for its answer is not affected
 * @param maxConnections HTTP connections open at once; further clients wait in the accept queue
 */
public record Limits(int maxMessages, long maxInputBytes, Duration headerTimeout, Duration idleTimeout,
    int maxConnections) {
  public static final Limits DEFAULT = new Limits(2048, 1 << 20, Duration.ofSeconds(30), Duration.ofSeconds(30),
      1024);

  public Limits {
    if (maxMessages < 1 || maxMessages > 1_000_000) {
      throw new ConfigException("limits.max_messages", "must be in [1, 1000000], got " + maxMessages);
    }
    if (maxInputBytes < 1024 || maxInputBytes > 1L << 30) {
      throw new ConfigException("limits.max_input_bytes", "must be in [1KiB, 1GiB], got " + maxInputBytes);
    }
    EdgeConfig.requirePositive("limits.header_timeout", headerTimeout);
    EdgeConfig.requirePositive("limits.idle_timeout", idleTimeout);
    if (maxConnections < 1 || maxConnections > 1_000_000) {
      throw new ConfigException("limits.max_connections", "must be in [1, 1000000], got " + maxConnections);
    }
  }

  /** These limits with the HTTP timeouts replaced (tests use short ones). */
  public Limits withTimeouts(Duration newHeaderTimeout, Duration newIdleTimeout) {
    return new Limits(maxMessages, maxInputBytes, newHeaderTimeout, newIdleTimeout, maxConnections);
  }
}
