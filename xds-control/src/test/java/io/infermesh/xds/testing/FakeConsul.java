package io.infermesh.xds.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * An in-process stand-in for the Consul agent's HTTP API, limited to what infermesh uses and
 * written from Consul's documented responses (no Consul binary can be installed here):
 *
 * <ul>
 *   <li>{@code GET /v1/health/service/<name>} with {@code passing}, blocking {@code index} and
 *       {@code wait} (e.g. {@code 30s}), answering the documented entry shape
 *       ({@code Node}/{@code Service}/{@code Checks}) with {@code X-Consul-Index},
 *       {@code X-Consul-KnownLeader} and {@code X-Consul-LastContact};
 *   <li>{@code PUT /v1/agent/service/register} and {@code PUT /v1/agent/service/deregister/<id>};
 *       a registered check starts {@code critical}, as Consul's do, until the test passes it;
 *   <li>{@code PUT /v1/agent/check/update/service:<id>} with {@code {"Status": ...}}: a node
 *       reporting to its TTL check.
 * </ul>
 *
 * <p>Every request is recorded; the test can stop it (unreachable), make it answer 500, move its
 * index backwards (as after a snapshot restore), and restart it on the same port. Thread-safe.
 */
public final class FakeConsul implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Object lock = new Object();
  private final Map<String, Instance> instances = new LinkedHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private long index = 10;
  private volatile boolean failing;
  private volatile HttpServer server;
  private ExecutorService pool;
  private int port;

  /** One registered service instance. Mutable only under the fake's lock. */
  public static final class Instance {
    public final String id;
    public final String service;
    public String address;
    public int port;
    public List<String> tags = new ArrayList<>();
    public Map<String, String> meta = new LinkedHashMap<>();
    public String checkStatus = "passing";
    public JsonNode registeredCheck;

    public Instance(String id, String service, String address, int port) {
      this.id = id;
      this.service = service;
      this.address = address;
      this.port = port;
    }
  }

  private FakeConsul() {}

  /** Starts on 127.0.0.1 on a free port. */
  public static FakeConsul start() throws IOException {
    FakeConsul fake = new FakeConsul();
    fake.bind(0);
    return fake;
  }

  private void bind(int wantedPort) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", wantedPort), 64);
    pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "fake-consul");
      t.setDaemon(true);
      return t;
    });
    s.setExecutor(pool);
    s.createContext("/v1/health/service/", this::health);
    s.createContext("/v1/agent/service/register", this::register);
    s.createContext("/v1/agent/service/deregister/", this::deregister);
    s.createContext("/v1/agent/check/update/", this::updateCheck);
    s.start();
    server = s;
    port = s.getAddress().getPort();
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String address() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Every request so far, as {@code METHOD path?query}. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  /** The current {@code X-Consul-Index}. */
  public long index() {
    synchronized (lock) {
      return index;
    }
  }

  /** Adds or replaces an instance (a catalog change: the index moves, blocked queries return). */
  public void put(Instance instance) {
    synchronized (lock) {
      instances.put(instance.id, instance);
      changed();
    }
  }

  public void remove(String id) {
    synchronized (lock) {
      instances.remove(id);
      changed();
    }
  }

  /** Sets the status of an instance's service check ({@code passing}, {@code warning}, {@code critical}). */
  public void setCheckStatus(String id, String status) {
    synchronized (lock) {
      Instance i = instances.get(id);
      if (i == null) {
        throw new IllegalArgumentException("no instance " + id);
      }
      i.checkStatus = status;
      changed();
    }
  }

  /** A registered instance, or null. */
  public Instance instance(String id) {
    synchronized (lock) {
      return instances.get(id);
    }
  }

  /** Moves the index backwards, as Consul's does after a snapshot restore. */
  public void resetIndex(long newIndex) {
    synchronized (lock) {
      index = newIndex;
      lock.notifyAll();
    }
  }

  /** Answer every request with HTTP 500. */
  public void failing(boolean value) {
    failing = value;
  }

  /** Stops listening (connections are refused) until {@link #restart()}. */
  public void stop() {
    HttpServer s = server;
    if (s != null) {
      s.stop(0);
      pool.shutdownNow();
      server = null;
      synchronized (lock) {
        lock.notifyAll();
      }
    }
  }

  /** Listens again on the same port, with the same catalog. */
  public void restart() throws IOException {
    if (server == null) {
      bind(port);
    }
  }

  @Override
  public void close() {
    stop();
  }

  // @GuardedBy("lock")
  private void changed() {
    index++;
    lock.notifyAll();
  }

  private void health(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String query = exchange.getRequestURI().getRawQuery();
      requests.add("GET " + path + (query == null ? "" : "?" + query));
      if (failing) {
        send(exchange, 500, "rpc error: No cluster leader".getBytes(StandardCharsets.UTF_8));
        return;
      }
      Map<String, String> params = params(query);
      String service = path.substring("/v1/health/service/".length());
      boolean passingOnly = params.containsKey("passing") && !"false".equals(params.get("passing"));
      long waitMillis = params.containsKey("wait") ? waitMillis(params.get("wait")) : 300_000;
      long wanted = params.containsKey("index") ? Long.parseLong(params.get("index")) : 0;
      ArrayNode body;
      long answeredIndex;
      synchronized (lock) {
        long deadline = System.currentTimeMillis() + Math.min(waitMillis, 600_000);
        while (wanted > 0 && index == wanted && server != null) {
          long left = deadline - System.currentTimeMillis();
          if (left <= 0) {
            break;
          }
          try {
            lock.wait(left);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        answeredIndex = index;
        body = JSON.createArrayNode();
        for (Instance i : instances.values()) {
          if (!i.service.equals(service)) {
            continue;
          }
          if (passingOnly && !i.checkStatus.equals("passing")) {
            continue;
          }
          body.add(entry(i));
        }
      }
      exchange.getResponseHeaders().set("X-Consul-Index", Long.toString(answeredIndex));
      exchange.getResponseHeaders().set("X-Consul-KnownLeader", "true");
      exchange.getResponseHeaders().set("X-Consul-LastContact", "0");
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      send(exchange, 200, JSON.writeValueAsBytes(body));
    }
  }

  /** One entry as documented for {@code /v1/health/service/:service}. */
  private ObjectNode entry(Instance i) {
    ObjectNode e = JSON.createObjectNode();
    ObjectNode node = e.putObject("Node");
    node.put("ID", "40e4a748-2192-161a-0510-9bf59fe950b5");
    node.put("Node", "node-" + i.id);
    node.put("Address", "10.1.10.12");
    node.put("Datacenter", "dc1");
    node.putObject("TaggedAddresses").put("lan", "10.1.10.12").put("wan", "10.1.10.12");
    node.putObject("Meta");
    node.put("CreateIndex", 5);
    node.put("ModifyIndex", 5);
    ObjectNode s = e.putObject("Service");
    s.put("ID", i.id);
    s.put("Service", i.service);
    ArrayNode tags = s.putArray("Tags");
    i.tags.forEach(tags::add);
    s.put("Address", i.address);
    ObjectNode meta = s.putObject("Meta");
    i.meta.forEach(meta::put);
    s.put("Port", i.port);
    s.putObject("Weights").put("Passing", 1).put("Warning", 1);
    s.put("EnableTagOverride", false);
    s.put("CreateIndex", 7);
    s.put("ModifyIndex", 7);
    ArrayNode checks = e.putArray("Checks");
    ObjectNode serf = checks.addObject();
    serf.put("Node", "node-" + i.id);
    serf.put("CheckID", "serfHealth");
    serf.put("Name", "Serf Health Status");
    serf.put("Status", "passing");
    serf.put("Notes", "");
    serf.put("Output", "Agent alive and reachable");
    serf.put("ServiceID", "");
    serf.put("ServiceName", "");
    serf.putArray("ServiceTags");
    serf.put("CreateIndex", 5);
    serf.put("ModifyIndex", 5);
    ObjectNode check = checks.addObject();
    check.put("Node", "node-" + i.id);
    check.put("CheckID", "service:" + i.id);
    check.put("Name", "Service '" + i.service + "' check");
    check.put("Status", i.checkStatus);
    check.put("Notes", "");
    check.put("Output", "");
    check.put("ServiceID", i.id);
    check.put("ServiceName", i.service);
    ArrayNode checkTags = check.putArray("ServiceTags");
    i.tags.forEach(checkTags::add);
    check.put("CreateIndex", 7);
    check.put("ModifyIndex", 7);
    return e;
  }

  private void register(HttpExchange exchange) throws IOException {
    try (exchange) {
      requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
      if (!exchange.getRequestMethod().equals("PUT")) {
        send(exchange, 405, new byte[0]);
        return;
      }
      JsonNode body = JSON.readTree(exchange.getRequestBody());
      String id = body.path("ID").asText(body.path("Name").asText());
      Instance i = new Instance(id, body.path("Name").asText(), body.path("Address").asText(), body.path("Port").asInt());
      body.path("Tags").forEach(t -> i.tags.add(t.asText()));
      body.path("Meta").properties().forEach(f -> i.meta.put(f.getKey(), f.getValue().asText()));
      i.registeredCheck = body.get("Check");
      synchronized (lock) {
        Instance previous = instances.get(id);
        // Consul keeps a check's status across re-registration; a new check starts critical
        i.checkStatus = previous != null ? previous.checkStatus
            : i.registeredCheck != null ? i.registeredCheck.path("Status").asText("critical") : "passing";
        instances.put(id, i);
        changed();
      }
      send(exchange, 200, new byte[0]);
    }
  }

  private void deregister(HttpExchange exchange) throws IOException {
    try (exchange) {
      requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
      String id = exchange.getRequestURI().getPath().substring("/v1/agent/service/deregister/".length());
      synchronized (lock) {
        if (instances.remove(id) == null) {
          send(exchange, 404, ("Unknown service ID \"" + id + "\"").getBytes(StandardCharsets.UTF_8));
          return;
        }
        changed();
      }
      send(exchange, 200, new byte[0]);
    }
  }

  private void updateCheck(HttpExchange exchange) throws IOException {
    try (exchange) {
      requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
      if (!exchange.getRequestMethod().equals("PUT")) {
        send(exchange, 405, new byte[0]);
        return;
      }
      String checkId = exchange.getRequestURI().getPath().substring("/v1/agent/check/update/".length());
      String status = JSON.readTree(exchange.getRequestBody()).path("Status").asText();
      if (!List.of("passing", "warning", "critical").contains(status)) {
        send(exchange, 400, ("Invalid check status: \"" + status + "\"").getBytes(StandardCharsets.UTF_8));
        return;
      }
      synchronized (lock) {
        Instance i = checkId.startsWith("service:") ? instances.get(checkId.substring("service:".length())) : null;
        if (i == null) {
          send(exchange, 404, ("Unknown check ID \"" + checkId + "\"").getBytes(StandardCharsets.UTF_8));
          return;
        }
        i.checkStatus = status;
        changed();
      }
      send(exchange, 200, new byte[0]);
    }
  }

  private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static Map<String, String> params(String query) {
    Map<String, String> out = new LinkedHashMap<>();
    if (query == null) {
      return out;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.put(k, v);
    }
    return out;
  }

  private static long waitMillis(String wait) {
    if (wait.endsWith("ms")) {
      return Long.parseLong(wait.substring(0, wait.length() - 2));
    }
    long n = Long.parseLong(wait.substring(0, wait.length() - 1));
    return switch (wait.charAt(wait.length() - 1)) {
      case 's' -> TimeUnit.SECONDS.toMillis(n);
      case 'm' -> TimeUnit.MINUTES.toMillis(n);
      default -> throw new IllegalArgumentException("bad wait " + wait);
    };
  }
}
