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
  /** 2048 messages, 1MiB of input, 30s for headers and of silence, 1024 connections. */
  public static final Limits DEFAULT = new Builder().build();

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
    return toBuilder().headerTimeout(newHeaderTimeout).idleTimeout(newIdleTimeout).build();
  }

  /** Limits at {@link #DEFAULT} until set. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these limits. */
  public Builder toBuilder() {
    return new Builder().maxMessages(maxMessages).maxInputBytes(maxInputBytes).headerTimeout(headerTimeout)
        .idleTimeout(idleTimeout).maxConnections(maxConnections);
  }

  /** Configures {@link Limits}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
  public static final class Builder {
    private int maxMessages = 2048;
    private long maxInputBytes = 1 << 20;
    private Duration headerTimeout = Duration.ofSeconds(30);
    private Duration idleTimeout = Duration.ofSeconds(30);
    private int maxConnections = 1024;

    private Builder() {}

    /** {@code limits.max_messages}; default 2048. */
    public Builder maxMessages(int maxMessages) {
      this.maxMessages = maxMessages;
      return this;
    }

    /** {@code limits.max_input_bytes}; default 1MiB. */
    public Builder maxInputBytes(long maxInputBytes) {
      this.maxInputBytes = maxInputBytes;
      return this;
    }

    /** {@code limits.header_timeout}; default 30s. */
    public Builder headerTimeout(Duration headerTimeout) {
      this.headerTimeout = headerTimeout;
      return this;
    }

    /** {@code limits.idle_timeout}; default 30s. */
    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
      return this;
    }

    /** {@code limits.max_connections}; default 1024. */
    public Builder maxConnections(int maxConnections) {
      this.maxConnections = maxConnections;
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public Limits build() {
      return new Limits(maxMessages, maxInputBytes, headerTimeout, idleTimeout, maxConnections);
    }
  }
}
