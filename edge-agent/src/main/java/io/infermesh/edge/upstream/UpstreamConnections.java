package io.infermesh.edge.upstream;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayDeque;

/**
 * The open connections to one upstream server that wait for their next request: at most as many
 * as generations may run at once ({@code max_concurrency}), taken most recently used first (the
 * likeliest to be still open; one the server closed meanwhile is detected by its first request,
 * which is then sent again on a new connection). Thread-safe.
 */
final class UpstreamConnections implements AutoCloseable {
  private final String host;
  private final int port;
  private final boolean tls;
  private final int connectTimeoutMillis;
  private final int maxIdle;
  @GuardedBy("this")
  private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
  @GuardedBy("this")
  private boolean closed;

  UpstreamConnections(URI base, int connectTimeoutMillis, int maxIdle) {
    this.tls = "https".equals(base.getScheme());
    this.host = base.getHost();
    this.port = base.getPort() >= 0 ? base.getPort() : tls ? 443 : 80;
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.maxIdle = maxIdle;
  }

  /** The {@code Host} header's value. */
  String authority() {
    String name = host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    return name + ":" + port;
  }

  /** An idle connection, or a new one. */
  UpstreamConnection take() throws IOException {
    synchronized (this) {
      UpstreamConnection c = idle.pollLast();
      if (c != null) {
        return c;
      }
    }
    return open();
  }

  /** A new connection (for a request that failed on a stale one). */
  UpstreamConnection open() throws IOException {
    return UpstreamConnection.open(host, port, tls, connectTimeoutMillis);
  }

  /** Keeps {@code c}, whose answer was read to its end, for a later request; or closes it. */
  void give(UpstreamConnection c) {
    synchronized (this) {
      if (!closed && idle.size() < maxIdle) {
        idle.addLast(c);
        return;
      }
    }
    c.close();
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      idle.forEach(UpstreamConnection::close);
      idle.clear();
    }
  }
}
