package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.infermesh.xds.snapshot.MeshSnapshots;
import io.infermesh.xds.snapshot.MeshState;
import io.infermesh.xds.snapshot.XdsGroup;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's admin HTTP endpoint (default {@code 127.0.0.1:18080}), read-only:
 *
 * <ul>
 *   <li>{@code GET /healthz} — {@code ok} once snapshots are published, 503 before;
 *   <li>{@code GET /nodes} — every connected node: group, per type sent/acked versions, ACK and
 *       NACK counts, the last NACK's version and message;
 *   <li>{@code GET /snapshots} — per group, the version of each resource type and the counts;
 *   <li>{@code GET /mesh} — the discovered endpoints and the burst shares in force;
 *   <li>{@code GET /metrics} — Prometheus text;
 *   <li>{@code GET /canary} — every canary rollout of {@code mesh.yaml}: phase ({@code progressing},
 *       {@code completed}, {@code rolled_back}), step, weights, the reason in words and the canary's
 *       figures in the current step.
 * </ul>
 *
 * <p>Thread-safe; served by a small daemon pool.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  private final HttpServer server;
  private final ExecutorService pool;
  private final ObjectMapper json = new ObjectMapper()
      .registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private AdminServer(HttpServer server, ExecutorService pool) {
    this.server = server;
    this.pool = pool;
  }

  /** Binds and starts serving. */
  public static AdminServer start(
      String address,
      int port,
      NodeTracker nodes,
      SnapshotPublisher publisher,
      PrometheusMeterRegistry metrics) throws IOException {
    requireNonNull(nodes, "nodes");
    requireNonNull(publisher, "publisher");
    requireNonNull(metrics, "metrics");
    HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 16);
    ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "xds-admin");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(pool);
    AdminServer admin = new AdminServer(server, pool);
    admin.route("/healthz", () -> publisher.current() == null ? null : "ok", "text/plain");
    admin.route("/nodes", () -> admin.json(nodes.nodes()), "application/json");
    admin.route("/snapshots", () -> admin.json(snapshots(publisher.current())), "application/json");
    admin.route("/mesh", () -> admin.json(mesh(publisher)), "application/json");
    admin.route("/metrics", metrics::scrape, "text/plain; version=0.0.4");
    server.start();
    log.info("admin: serving /healthz /nodes /snapshots /mesh /metrics on http://{}:{}", address, admin.port());
    return admin;
  }

  /** Serves {@code body}, as JSON, on {@code GET path} from now on. */
  void serveJson(String path, Supplier<Object> body) {
    route(path, () -> json(body.get()), "application/json");
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  private void route(String path, Supplier<String> body, String contentType) {
    server.createContext(path, exchange -> {
      try (exchange) {
        if (!exchange.getRequestMethod().equals("GET")) {
          send(exchange, 405, "only GET\n", "text/plain");
          return;
        }
        String text = body.get();
        if (text == null) {
          send(exchange, 503, "no snapshot published yet\n", "text/plain");
        } else {
          send(exchange, 200, text.endsWith("\n") ? text : text + "\n", contentType);
        }
      } catch (RuntimeException e) {
        log.warn("admin: {} failed", path, e);
      }
    });
  }

  private static void send(HttpExchange exchange, int status, String body, String contentType) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private String json(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Object snapshots(MeshSnapshots current) {
    if (current == null) {
      return Map.of();
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<XdsGroup, Snapshot> e : current.snapshots().entrySet()) {
      Map<String, Object> types = new LinkedHashMap<>();
      for (Resources.ResourceType type : Resources.ResourceType.values()) {
        types.put(type.name(), Map.of(
            "version", e.getValue().version(type),
            "resources", e.getValue().resources(type).size()));
      }
      out.put(e.getKey().toString(), types);
    }
    return out;
  }

  private static Object mesh(SnapshotPublisher publisher) {
    MeshState state = publisher.state();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("endpoints", state == null ? List.of() : state.endpoints());
    Map<String, Double> shares = new LinkedHashMap<>();
    publisher.shares().shares().forEach((k, v) -> shares.put(k.toString(), v));
    out.put("burstShares", shares);
    return out;
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
