package io.infermesh.node.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An in-process stand-in for the Consul agent endpoints a registering node calls ({@code
 * io.infermesh.node.registration.ConsulRegistration}), written from Consul's documented API (no
 * Consul binary can be installed here; {@link FakeConsul} also serves the health endpoint
 * discovery reads). Shared with the edge and core tests through this module's test-jar:
 *
 * <ul>
 *   <li>{@code PUT /v1/agent/service/register}: keeps the body; a new service's check takes the
 *       body's {@code Check.Status} (Consul's default is critical), a re-registration keeps it;
 *   <li>{@code PUT /v1/agent/check/update/<check id>} with {@code {"Status", "Output"}}; an
 *       unknown check answers 404, as Consul's agent does;
 *   <li>{@code PUT /v1/agent/service/deregister/<id>}; an unknown id answers 404.
 * </ul>
 *
 * <p>Records every request; a test can make it answer 500 or forget its services (an agent
 * restarted without state). Thread-safe (every method synchronizes on the fake).
 */
public final class FakeConsulAgent implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request: method, path, the {@code X-Consul-Token} header (or null) and the JSON body (or null). */
  public record Request(String method, String path, String token, JsonNode body) {}

  private final HttpServer server;
  private final ExecutorService pool;
  private final List<Request> requests = new ArrayList<>();
  private final Map<String, JsonNode> services = new LinkedHashMap<>();
  private final Map<String, String> checks = new LinkedHashMap<>();
  private boolean failing;

  private FakeConsulAgent() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "fake-consul-agent");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(pool);
    server.createContext("/v1/agent/", this::handle);
    server.start();
  }

  /** Starts on 127.0.0.1 on a free port. */
  public static FakeConsulAgent start() throws IOException {
    return new FakeConsulAgent();
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String address() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The registration body of service {@code id}, or null. */
  public synchronized JsonNode service(String id) {
    return services.get(id);
  }

  /** The status of check {@code checkId}, or null when there is none. */
  public synchronized String checkStatus(String checkId) {
    return checks.get(checkId);
  }

  /** Answer every request with HTTP 500 (no cluster leader) while {@code value}. */
  public synchronized void failing(boolean value) {
    failing = value;
  }

  /** Drops every service and check, as an agent restarted without its state. */
  public synchronized void forgetEverything() {
    services.clear();
    checks.clear();
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] raw = exchange.getRequestBody().readAllBytes();
      JsonNode body = raw.length == 0 ? null : JSON.readTree(raw);
      String path = exchange.getRequestURI().getPath();
      int status;
      String answer;
      synchronized (this) {
        requests.add(new Request(exchange.getRequestMethod(), path,
            exchange.getRequestHeaders().getFirst("X-Consul-Token"), body));
        if (failing) {
          status = 500;
          answer = "rpc error making call: No cluster leader";
        } else if (!exchange.getRequestMethod().equals("PUT")) {
          status = 405;
          answer = "method not allowed";
        } else if (path.equals("/v1/agent/service/register")) {
          String id = body.path("ID").asText(body.path("Name").asText());
          services.put(id, body);
          String checkId = body.path("Check").path("CheckID").asText("service:" + id);
          checks.putIfAbsent(checkId, body.path("Check").path("Status").asText("critical"));
          status = 200;
          answer = "";
        } else if (path.startsWith("/v1/agent/check/update/")) {
          String checkId = path.substring("/v1/agent/check/update/".length());
          if (!checks.containsKey(checkId)) {
            status = 404;
            answer = "Unknown check ID \"" + checkId + "\". Ensure that the check ID is passed, not the check name.";
          } else {
            checks.put(checkId, body.path("Status").asText());
            status = 200;
            answer = "";
          }
        } else if (path.startsWith("/v1/agent/service/deregister/")) {
          String id = path.substring("/v1/agent/service/deregister/".length());
          if (services.remove(id) == null) {
            status = 404;
            answer = "Unknown service ID \"" + id + "\". Ensure that the service ID is passed, not the service name.";
          } else {
            checks.remove("service:" + id);
            status = 200;
            answer = "";
          }
        } else {
          status = 404;
          answer = "unsupported by the fake: " + path;
        }
      }
      byte[] out = answer.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, out.length == 0 ? -1 : out.length);
      if (out.length > 0) {
        try (OutputStream o = exchange.getResponseBody()) {
          o.write(out);
        }
      }
    }
  }
}
