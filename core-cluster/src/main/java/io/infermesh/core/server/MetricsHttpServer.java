package io.infermesh.core.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The node's plain-HTTP side port: {@code GET /metrics} in the Prometheus text format, and the
 * probes orchestrators expect, since the gRPC health service sits behind mutual TLS that kubelet
 * and load balancers cannot present: {@code /healthz} (200 while the process runs) and {@code
 * /readyz} (200 while the node reports SERVING, else 503). Nothing here is secret.
 */
public final class MetricsHttpServer implements AutoCloseable {
  private final HttpServer server;

  private MetricsHttpServer(HttpServer server) {
    this.server = server;
  }

  /**
   * Starts on {@code address}:{@code port} (0 picks a free port); {@code ready} answers {@code /readyz}.
   */
  public static MetricsHttpServer start(String address, int port, PrometheusMeterRegistry registry,
      BooleanSupplier ready) throws IOException {
    InetSocketAddress bind = new InetSocketAddress(address, port);
    // 0.0.0.0 means every interface; the port-only address is dual-stack, an explicit 0.0.0.0 IPv4 only.
    HttpServer server = HttpServer.create(bind.getAddress() != null && bind.getAddress().isAnyLocalAddress()
        ? new InetSocketAddress(port) : bind, 16);
    server.createContext("/healthz", exchange -> text(exchange, 200, "ok\n"));
    server.createContext("/readyz", exchange -> {
      boolean serving = ready.getAsBoolean();
      text(exchange, serving ? 200 : 503, serving ? "ready\n" : "not ready: the node reports NOT_SERVING\n");
    });
    server.createContext("/metrics", exchange -> {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    return new MetricsHttpServer(server);
  }

  private static void text(HttpExchange exchange, int status, String text) throws IOException {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The address and port listened on. */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
