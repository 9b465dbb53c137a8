package io.infermesh.core.registry;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.schedule.Utilization;
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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers a core node with its local Consul agent and keeps the registration true, so that
 * xds-control's Consul discovery routes to the node while it can answer:
 *
 * <ul>
 *   <li>{@code PUT /v1/agent/service/register}: id {@code node.name}, the configured service
 *       name, address and the gRPC port, and the attributes discovery reads, as service meta and
 *       as {@code key=value} tags: {@code region}, {@code tier}, {@code model} and {@code version}
 *       (left out while {@code model.version} is empty: discovery then reads {@code v1}); and, in
 *       the meta only, {@code utilization}: the node's load as {@link #utilization(double)} last
 *       gave it, with two decimals ({@code 0.00} idle, {@code 1.00} saturated, up to {@code 2.00}
 *       with a queue; see {@link Utilization}), which xds-control's burst policy averages over a
 *       region's private nodes. Not a tag: tags name what a node is, and Consul indexes them;
 *       a value that moves would churn every tag-filtered query;
 *   <li>a TTL check ({@code service:<id>}, TTL three check intervals, starting critical) that the
 *       node reports to every check interval and whenever its readiness changes ({@code PUT
 *       /v1/agent/check/update/service:<id>}): passing while the node reports {@code SERVING},
 *       critical otherwise. A TTL check rather than a gRPC one, because the node's server demands a
 *       mesh client certificate that the Consul agent does not hold; a node that dies stops
 *       reporting, turns critical after the TTL and is removed after {@code deregister_after};
 *   <li>{@code PUT /v1/agent/service/deregister/<id>} on {@link #close()}.
 * </ul>
 *
 * <p>The registration is sent again (an idempotent {@code PUT} with the same id) whenever the
 * utilization moved by at least {@link Utilization#STEP} from the value registered, or fell to
 * zero: at once when {@link #utilization(double)} sees it, else at the next interval. Smaller
 * moves are not worth a catalog update (each one wakes every blocking query on the service).
 *
 * <p>Consul being down never stops the node: a failed call is logged and retried at the next
 * interval; an agent that lost the registration (restarted without state) gets it again.
 *
 * <p>Thread-safe: the calls to the agent are serialized on this object; they run on the injected
 * executor, each bounded by {@link #CALL_TIMEOUT}.
 */
public final class ConsulRegistration implements AutoCloseable {
  /** Longest one call to the agent may take. */
  public static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(ConsulRegistration.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CoreConfig.Consul settings;
  private final String id;
  private final ObjectNode registration;
  private final BooleanSupplier ready;
  private final ScheduledExecutorService executor;
  private final HttpClient http;
  private final AtomicBoolean refreshQueued = new AtomicBoolean();
  private volatile double utilization; // the latest figure given, published when it moved enough
  // @GuardedBy("this") for writes; read without the lock to decide whether a refresh is worth queueing
  private volatile boolean registered;
  // @GuardedBy("this") for writes: the utilization the agent holds (rounded), NaN before the first registration
  private volatile double published = Double.NaN;
  // @GuardedBy("this")
  private Boolean reported; // the status last reported, null before the first report
  // @GuardedBy("this")
  private int failures;
  // @GuardedBy("this") for writes; read without the lock by utilization(), which must never block
  private volatile boolean closed;
  private volatile ScheduledFuture<?> ticks;

  private ConsulRegistration(CoreConfig.Consul settings, String id, ObjectNode registration, BooleanSupplier ready,
      ScheduledExecutorService executor, HttpClient http) {
    this.settings = settings;
    this.id = id;
    this.registration = registration;
    this.ready = ready;
    this.executor = executor;
    this.http = http;
  }

  /**
   * Registers the core node described by {@code config}, serving gRPC on {@code grpcPort}, and
   * reports {@code ready} every {@code consul.check_interval} on {@code executor} until closed.
   * Returns at once; the first registration runs on the executor.
   *
   * @throws IllegalArgumentException when {@code consul.address} is empty (registration is off)
   */
  public static ConsulRegistration start(CoreConfig config, int grpcPort, BooleanSupplier ready,
      ScheduledExecutorService executor) {
    requireNonNull(config, "config");
    requireNonNull(ready, "ready");
    requireNonNull(executor, "executor");
    if (!config.consul().enabled()) {
      throw new IllegalArgumentException("consul.address is empty: registration is off");
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(CALL_TIMEOUT).build();
    ConsulRegistration r = new ConsulRegistration(config.consul(), config.node().name(),
        registrationBody(config, grpcPort), ready, executor, http);
    Duration interval = config.consul().checkInterval();
    r.ticks = executor.scheduleWithFixedDelay(r::report, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    return r;
  }

  /**
   * The body of {@code PUT /v1/agent/service/register} for a core node on {@code grpcPort}: the
   * JSON shape of Consul's documented service definition.
   */
  static ObjectNode registrationBody(CoreConfig config, int grpcPort) {
    CoreConfig.Consul c = config.consul();
    String id = config.node().name();
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("region", config.node().region());
    meta.put("tier", c.tier());
    meta.put("model", config.model().name());
    if (!config.model().version().isEmpty()) {
      meta.put("version", config.model().version());
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("ID", id);
    body.put("Name", c.serviceName());
    var tags = body.putArray("Tags");
    meta.forEach((k, v) -> tags.add(k + "=" + v));
    if (!c.serviceAddress().isEmpty()) {
      body.put("Address", c.serviceAddress());
    }
    body.put("Port", grpcPort);
    ObjectNode m = body.putObject("Meta");
    meta.forEach(m::put);
    m.put(UTILIZATION, format(0));
    ObjectNode check = body.putObject("Check");
    check.put("CheckID", checkId(id));
    check.put("Name", "core node " + id + " ready (grpc.health.v1 SERVING)");
    check.put("TTL", goDuration(c.checkInterval().multipliedBy(3)));
    check.put("Status", "critical");
    check.put("DeregisterCriticalServiceAfter", goDuration(c.deregisterAfter()));
    return body;
  }

  /** The meta key xds-control's Consul discovery reads the node's load from. */
  static final String UTILIZATION = "utilization";

  /**
   * {@code u} as the {@code utilization} meta value: two decimals, always with a dot (never the
   * default locale's comma), which discovery reads with {@code Double.parseDouble}.
   */
  static String format(double u) {
    return String.format(Locale.ROOT, "%.2f", Utilization.round(u));
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
   * least {@link Utilization#STEP} from the registered value (or fell to zero), else with the next
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

  /** The utilization the agent holds now (as registered, two decimals); NaN before the first registration. */
  public double publishedUtilization() {
    return published;
  }

  private boolean worthPublishing(double u) {
    double p = published;
    return Double.isNaN(p) || Utilization.worthPublishing(p, Utilization.round(u));
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
        log.info("consul: {} reachable again after {} failed attempts; {} reported {}", settings.address(),
            failures, id, ok ? "passing" : "critical");
      } else if (reported == null || reported != ok) {
        log.info("consul: {} reported {}", id, ok ? "passing" : "critical");
      }
      failures = 0;
      reported = ok;
    } catch (IOException | RuntimeException e) {
      failures++;
      if (failures == 1 || failures % 10 == 0) {
        log.warn("consul: cannot report {} to {} ({}; attempt {}); retrying every {}", id, settings.address(),
            e.getMessage(), failures, settings.checkInterval());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Sends the registration with the latest utilization. Holds the lock. */
  private void register() throws IOException, InterruptedException {
    double u = Utilization.round(utilization);
    ObjectNode body = registration.deepCopy();
    ((ObjectNode) body.get("Meta")).put(UTILIZATION, format(u));
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
          registration.get("Port").asInt(), settings.address(), format(u));
    }
  }

  private int updateCheck(boolean ok) throws IOException, InterruptedException {
    ObjectNode body = JSON.createObjectNode();
    body.put("Status", ok ? "passing" : "critical");
    body.put("Output", ok ? "SERVING" : "NOT_SERVING: no model loaded, or its engine or pipeline is unavailable");
    return put("/v1/agent/check/update/" + encode(checkId(id)), JSON.writeValueAsString(body));
  }

  private int put(String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(settings.address() + path))
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
    return "ConsulRegistration{" + id + " as " + settings.serviceName() + " at " + settings.address() + "}";
  }
}
