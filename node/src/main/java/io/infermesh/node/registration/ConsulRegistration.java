package io.infermesh.node.registration;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers a mesh node (an edge agent or a core node) with its local Consul agent and keeps the
 * registration true, so that xds-control's Consul discovery routes to the node while it can answer.
 * This class writes the registration and {@code io.infermesh.xds.discovery} reads it: one module
 * owns both sides, so they cannot drift.
 *
 * <ul>
 *   <li>{@code PUT /v1/agent/service/register}: id {@link RegistrationSettings#serviceId}, the
 *       service name, address and port, and the attributes discovery reads, as service meta and as
 *       {@code key=value} tags: {@code role} ({@code edge} or {@code core}: discovery routes a
 *       service only to instances of its policy's {@code server_role}), {@code region},
 *       {@code tier}, {@code model}, {@code version} (left out while empty: discovery then reads
 *       {@code v1}) and any extra fixed attributes; and, in the meta only, the node's load:
 *       {@code utilization} as {@link #utilization(double)} or {@link #load} last gave it, with two
 *       decimals ({@code 0.00} idle, {@code 1.00} saturated, above with a queue), which
 *       xds-control's burst policy averages over a region's private nodes, plus whatever detail
 *       {@link #load} gave (e.g. an edge's {@code slots_in_use}). Not tags: tags name what a node
 *       is, and Consul indexes them; a value that moves would churn every tag-filtered query;
 *   <li>a TTL check ({@code service:<id>}, TTL three check intervals, starting critical) that the
 *       node reports to every check interval and whenever its readiness changes ({@code PUT
 *       /v1/agent/check/update/service:<id>}): passing while {@code ready} says so, critical
 *       otherwise. A TTL check rather than a gRPC or HTTP one, because the node's servers demand a
 *       mesh client certificate (or an API key) that the Consul agent does not hold; a node that
 *       dies stops reporting, turns critical after the TTL and is removed after
 *       {@code deregisterAfter};
 *   <li>{@code PUT /v1/agent/service/deregister/<id>} on {@link #close()}.
 * </ul>
 *
 * <p>The registration is sent again (an idempotent {@code PUT} with the same id) whenever the
 * utilization moved by at least {@link #UTILIZATION_STEP} from the value registered, or fell to
 * zero: at once when {@link #utilization(double)} sees it, else at the next interval. Smaller
 * moves are not worth a catalog update (each one wakes every blocking query on the service).
 *
 * <p>Consul being down never stops the node: a failed call is logged and retried at the next
 * interval; an agent that lost the registration (restarted without state) gets it again. Nothing
 * is thrown from the periodic report.
 *
 * <p>Thread-safe: the calls to the agent are serialized on this object; they run on the injected
 * executor, each bounded by {@link #CALL_TIMEOUT}.
 */
public final class ConsulRegistration implements AutoCloseable {
  /** Longest one call to the agent may take. */
  public static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
  /**
   * The least utilization change worth a catalog update: smaller moves are noise against burst
   * watermarks that sit tenths apart.
   */
  public static final double UTILIZATION_STEP = 0.05;

  private static final Logger log = LoggerFactory.getLogger(ConsulRegistration.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistrationSettings settings;
  private final String id;
  private final ObjectNode registration;
  private final BooleanSupplier ready;
  private final ScheduledExecutorService executor;
  private final HttpClient http;
  private final AtomicBoolean refreshQueued = new AtomicBoolean();
  private volatile double utilization; // the latest figure given, published when it moved enough
  private volatile Map<String, String> loadDetail = Map.of(); // goes out with the next registration
  // @GuardedBy("this") for writes; read without the lock to decide whether a refresh is worth queueing
  private volatile boolean registered;
  // @GuardedBy("this") for writes: the utilization the agent holds (rounded), NaN before the first registration
  private volatile double published = Double.NaN;
  @GuardedBy("this")
  private Boolean reported; // the status last reported, null before the first report
  @GuardedBy("this")
  private int failures;
  // @GuardedBy("this") for writes; read without the lock by utilization(), which must never block
  private volatile boolean closed;
  private volatile ScheduledFuture<?> ticks;

  private ConsulRegistration(RegistrationSettings settings, ObjectNode registration, BooleanSupplier ready,
      ScheduledExecutorService executor, HttpClient http) {
    this.settings = settings;
    this.id = settings.serviceId();
    this.registration = registration;
    this.ready = ready;
    this.executor = executor;
    this.http = http;
  }

  /**
   * Registers the node {@code settings} describe and reports {@code ready} every check interval on
   * {@code executor} until closed. Returns at once; the first registration runs on the executor.
   * {@code ready} is called on the executor and must not block.
   */
  public static ConsulRegistration start(RegistrationSettings settings, BooleanSupplier ready,
      ScheduledExecutorService executor) {
    requireNonNull(settings, "settings");
    requireNonNull(ready, "ready");
    requireNonNull(executor, "executor");
    HttpClient http = HttpClient.newBuilder().connectTimeout(CALL_TIMEOUT).build();
    ConsulRegistration r = new ConsulRegistration(settings, registrationBody(settings), ready, executor, http);
    long interval = settings.checkInterval().toMillis();
    r.ticks = executor.scheduleWithFixedDelay(r::report, 0, interval, TimeUnit.MILLISECONDS);
    return r;
  }

  /**
   * The body of {@code PUT /v1/agent/service/register} for {@code settings}, with utilization 0:
   * the JSON shape of Consul's documented service definition.
   */
  public static ObjectNode registrationBody(RegistrationSettings settings) {
    requireNonNull(settings, "settings");
    String id = settings.serviceId();
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put(RegistrationMeta.ROLE, settings.role().pathName());
    meta.put(RegistrationMeta.REGION, settings.region());
    meta.put(RegistrationMeta.TIER, settings.tier());
    meta.put(RegistrationMeta.MODEL, settings.model());
    if (!settings.version().isEmpty()) {
      meta.put(RegistrationMeta.VERSION, settings.version());
    }
    new TreeMap<>(settings.extraMeta()).forEach(meta::put);
    ObjectNode body = JSON.createObjectNode();
    body.put("ID", id);
    body.put("Name", settings.serviceName());
    var tags = body.putArray("Tags");
    meta.forEach((k, v) -> tags.add(k + "=" + v));
    if (!settings.serviceAddress().isEmpty()) {
      body.put("Address", settings.serviceAddress());
    }
    body.put("Port", settings.port());
    ObjectNode m = body.putObject("Meta");
    meta.forEach(m::put);
    m.put(UTILIZATION, format(0));
    ObjectNode check = body.putObject("Check");
    check.put("CheckID", checkId(id));
    check.put("Name", settings.role().pathName() + " node " + id + " ready (" + settings.readiness() + ")");
    check.put("TTL", goDuration(settings.checkInterval().multipliedBy(3)));
    check.put("Status", "critical");
    check.put("DeregisterCriticalServiceAfter", goDuration(settings.deregisterAfter()));
    return body;
  }

  /** The meta key xds-control's Consul discovery reads the node's load from. */
  public static final String UTILIZATION = RegistrationMeta.UTILIZATION;

  /**
   * {@code u} as the {@code utilization} meta value: two decimals, always with a dot (never the
   * default locale's comma), which discovery reads with {@code Double.parseDouble}.
   */
  static String format(double u) {
    return String.format(Locale.ROOT, "%.2f", round(u));
  }

  /** {@code u} to two decimals, as it is published. */
  static double round(double u) {
    return Math.round(u * 100) / 100.0;
  }

  /**
   * Whether {@code current} differs enough from {@code published} to refresh what the control
   * plane sees: by at least {@link #UTILIZATION_STEP}, or it fell to (rounded) zero, so that a node
   * that went idle reports 0 rather than staying a step above it.
   */
  static boolean worthPublishing(double published, double current) {
    if (Math.abs(current - published) >= UTILIZATION_STEP - 1e-9) {
      return true;
    }
    return round(current) == 0 && round(published) != 0;
  }

  static String checkId(String serviceId) {
    return "service:" + serviceId;
  }

  /** A duration as Consul (Go's {@code time.ParseDuration}) reads it: {@code 2m}, {@code 30s}, {@code 1500ms}. */
  static String goDuration(Duration d) {
    long millis = d.toMillis();
    if (millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  /** Reports the node's readiness now (after a change), instead of at the next interval. */
  public void reportNow() {
    try {
      executor.execute(this::report);
    } catch (RejectedExecutionException e) {
      // the executor is shutting down with the node: nothing left to report
    }
  }

  /**
   * Gives the node's current (smoothed) utilization; it reaches Consul at once when it moved by at
   * least {@link #UTILIZATION_STEP} from the registered value (or fell to zero), else with the next
   * registration. Cheap and non-blocking: call it as often as the figure is sampled.
   *
   * @throws IllegalArgumentException if {@code u} is negative, NaN or infinite
   */
  public void utilization(double u) {
    if (!(u >= 0) || Double.isInfinite(u)) {
      throw new IllegalArgumentException("utilization must be a finite number >= 0, got " + u);
    }
    utilization = u;
    if (registered && !closed && worthPublishing(u) && refreshQueued.compareAndSet(false, true)) {
      try {
        executor.execute(this::refresh);
      } catch (RejectedExecutionException e) {
        refreshQueued.set(false); // shutting down with the node
      }
    }
  }

  /**
   * Like {@link #utilization(double)}, with {@code detail}: load figures that go into the meta with
   * the next registration (e.g. {@code slots_in_use}, {@code queue_depth}). Only the utilization
   * decides when the registration is refreshed, so the detail is as fresh as the last step.
   *
   * @throws IllegalArgumentException if {@code u} is not a finite number >= 0, or a detail key is
   *     one the registration writes itself
   */
  public void load(double u, Map<String, String> detail) {
    Map<String, String> copy = Map.copyOf(requireNonNull(detail, "detail"));
    for (String key : copy.keySet()) {
      if (RegistrationSettings.RESERVED_KEYS.contains(key) || settings.extraMeta().containsKey(key)) {
        throw new IllegalArgumentException("load detail key '" + key + "' is already registered");
      }
    }
    loadDetail = copy;
    utilization(u);
  }

  /** The utilization the agent holds now (as registered, two decimals); NaN before the first registration. */
  public double publishedUtilization() {
    return published;
  }

  private boolean worthPublishing(double u) {
    double p = published;
    return Double.isNaN(p) || worthPublishing(p, round(u));
  }

  /** Sends the registration again with the latest utilization, if it still moved enough. */
  private synchronized void refresh() {
    refreshQueued.set(false);
    if (closed || !registered || !worthPublishing(utilization)) {
      return;
    }
    try {
      register();
    } catch (IOException | RuntimeException e) {
      // the next report retries, and re-registers if the agent lost the service
      log.debug("consul: could not refresh the utilization of {} ({})", id, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Registers if needed and reports readiness to the TTL check; logs and returns on failure. */
  private synchronized void report() {
    if (closed) {
      return;
    }
    boolean ok = ready.getAsBoolean();
    try {
      if (!registered || worthPublishing(utilization)) {
        register();
      }
      int status = updateCheck(ok);
      if (status / 100 != 2) {
        // the agent forgot the service (restarted without state, or removed it): register again
        registered = false;
        register();
        status = updateCheck(ok);
        if (status / 100 != 2) {
          throw new IOException("check update answered HTTP " + status);
        }
      }
      if (failures > 0) {
        log.info("consul: {} reachable again after {} failed attempts; {} reported {}", settings.consulAddress(),
            failures, id, ok ? "passing" : "critical");
      } else if (reported == null || reported != ok) {
        log.info("consul: {} reported {}", id, ok ? "passing" : "critical");
      }
      failures = 0;
      reported = ok;
    } catch (IOException | RuntimeException e) {
      failures++;
      if (failures == 1 || failures % 10 == 0) {
        log.warn("consul: cannot report {} to {} ({}; attempt {}); retrying every {}", id, settings.consulAddress(),
            e.getMessage(), failures, settings.checkInterval());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Sends the registration with the latest utilization. Holds the lock. */
  private void register() throws IOException, InterruptedException {
    double u = round(utilization);
    ObjectNode body = registration.deepCopy();
    ObjectNode meta = (ObjectNode) body.get("Meta");
    loadDetail.forEach(meta::put);
    meta.put(UTILIZATION, format(u));
    int status = put("/v1/agent/service/register", JSON.writeValueAsString(body));
    if (status / 100 != 2) {
      throw new IOException("service registration answered HTTP " + status);
    }
    boolean refreshed = registered;
    registered = true;
    published = u;
    if (refreshed) {
      log.debug("consul: {} now reports utilization {}", id, format(u));
    } else {
      log.info("consul: registered {} as {} ({}:{}) with {}, utilization {}", id, settings.serviceName(),
          registration.has("Address") ? registration.get("Address").asText() : "<agent address>",
          registration.get("Port").asInt(), settings.consulAddress(), format(u));
    }
  }

  private int updateCheck(boolean ok) throws IOException, InterruptedException {
    ObjectNode body = JSON.createObjectNode();
    body.put("Status", ok ? "passing" : "critical");
    body.put("Output", (ok ? "ready: " : "not ready: ") + settings.readiness());
    return put("/v1/agent/check/update/" + encode(checkId(id)), JSON.writeValueAsString(body));
  }

  private int put(String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(settings.consulAddress() + path))
        .timeout(CALL_TIMEOUT)
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (!settings.token().isEmpty()) {
      request.header("X-Consul-Token", settings.token());
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static String encode(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /**
   * Stops reporting and deregisters the node, so traffic leaves it before it stops serving. A
   * failed deregistration is logged: Consul then removes the node once its TTL check has been
   * critical for {@code deregister_after}. Idempotent.
   */
  @Override
  public void close() {
    ScheduledFuture<?> t = ticks;
    if (t != null) {
      t.cancel(false);
    }
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (!registered) {
        return;
      }
      try {
        int status = put("/v1/agent/service/deregister/" + encode(id), "");
        if (status / 100 != 2) {
          throw new IOException("HTTP " + status);
        }
        log.info("consul: deregistered {}", id);
      } catch (IOException | RuntimeException e) {
        log.warn("consul: could not deregister {} ({}); Consul removes it {} after its check turns critical", id,
            e.getMessage(), settings.deregisterAfter());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        log.warn("consul: interrupted while deregistering {}; Consul removes it {} after its check turns critical",
            id, settings.deregisterAfter());
      }
      registered = false;
    }
  }

  @Override
  public String toString() {
    return "ConsulRegistration{" + id + " as " + settings.serviceName() + " at " + settings.consulAddress() + "}";
  }
}
