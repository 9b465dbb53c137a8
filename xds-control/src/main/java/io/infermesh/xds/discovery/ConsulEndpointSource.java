package io.infermesh.xds.discovery;

import static java.util.Objects.requireNonNull;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.QueryParams;
import com.ecwid.consul.v1.Response;
import com.ecwid.consul.v1.health.HealthServicesRequest;
import com.ecwid.consul.v1.health.model.HealthService;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches Consul's health endpoint for each service with blocking queries:
 * {@code GET /v1/health/service/<name>?passing=true&index=<X-Consul-Index>&wait=<wait>}. Each
 * answer replaces that service's endpoints; the source delivers the union of all services.
 *
 * <p>Index handling follows Consul's documentation: the next query carries the last
 * {@code X-Consul-Index}; an index that goes backwards resets to 0; an index of 0 is never sent.
 *
 * <p>When Consul is unreachable or answers with an error, the last good endpoints stay in force
 * (nothing is delivered), {@code infermesh.xds.discovery.errors{source=consul}} counts the
 * failure, {@code infermesh.xds.discovery.stale{source=consul}} reads 1, a warning is logged, and
 * the query is retried after a backoff that doubles from {@code retry_backoff} up to 30 s. The
 * first success afterwards logs the recovery and clears the gauge.
 *
 * <p>Threads: one blocking query per service at a time, run on the injected executor (which needs
 * a thread per service). Deliveries are serialized on this object.
 */
public final class ConsulEndpointSource implements EndpointSource {

  private static final Logger log = LoggerFactory.getLogger(ConsulEndpointSource.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  /** Least time between two queries for one service, so a misbehaving agent is not hammered. */
  private static final Duration MIN_INTERVAL = Duration.ofMillis(50);

  private final ConsulConfig settings;
  private final ConsulConfig.Watch watch;
  private final List<String> services;
  private final Function<String, Optional<Tier>> regionTier;
  private final Function<String, Optional<String>> serverRole;
  private final ConsulClient client;
  private final ScheduledExecutorService executor;
  private final boolean ownsExecutor;
  private final Counter errors;
  private final AtomicInteger stale = new AtomicInteger();
  private final Map<String, List<MeshEndpoint>> byService = new ConcurrentHashMap<>();
  private final Map<String, Long> indexes = new ConcurrentHashMap<>();
  private final Map<String, Integer> failures = new ConcurrentHashMap<>();
  private volatile Consumer<List<MeshEndpoint>> listener;
  private volatile boolean closed;

  /** A source that accepts instances of any registered role (see the other constructor). */
  public ConsulEndpointSource(
      ConsulConfig settings,
      List<String> services,
      Function<String, Optional<Tier>> regionTier,
      MeterRegistry meters,
      ScheduledExecutorService executor) {
    this(settings, services, regionTier, service -> Optional.empty(), meters, executor);
  }

  /**
   * @param services the Consul service names to watch (also the mesh service names)
   * @param regionTier the tier of a region named in {@code mesh.yaml}, for instances without a
   *     {@code tier} tag
   * @param serverRole the role a service's servers register with ({@code server_role} in the
   *     policy); an instance registered with another {@code role} is skipped; empty accepts any
   * @param executor runs the blocking queries; null = a daemon pool with a thread per service,
   *     shut down by {@link #close()}
   */
  public ConsulEndpointSource(
      ConsulConfig settings,
      List<String> services,
      Function<String, Optional<Tier>> regionTier,
      Function<String, Optional<String>> serverRole,
      MeterRegistry meters,
      ScheduledExecutorService executor) {
    this.settings = requireNonNull(settings, "settings");
    this.watch = settings.watch().orElseThrow(() -> new IllegalArgumentException(
        "settings: a control plane's consul section (ConsulConfig.controlPlane()), not a node's"));
    if (!settings.enabled()) {
      throw new IllegalArgumentException("settings: no Consul agent address");
    }
    this.services = List.copyOf(requireNonNull(services, "services"));
    this.regionTier = requireNonNull(regionTier, "regionTier");
    this.serverRole = requireNonNull(serverRole, "serverRole");
    requireNonNull(meters, "meters");
    if (this.services.isEmpty()) {
      throw new IllegalArgumentException("no services to watch in Consul");
    }
    this.client = new ConsulClient(
        settings.uri().getScheme() + "://" + settings.uri().getHost(), settings.port());
    this.ownsExecutor = executor == null;
    this.executor = executor != null ? executor : newExecutor(this.services.size());
    this.errors = Counter.builder("infermesh.xds.discovery.errors")
        .description("Failed discovery queries")
        .tag("source", "consul")
        .register(meters);
    meters.gauge("infermesh.xds.discovery.stale", List.of(io.micrometer.core.instrument.Tag.of("source", "consul")),
        stale, AtomicInteger::get);
  }

  private static ScheduledExecutorService newExecutor(int threads) {
    AtomicInteger n = new AtomicInteger();
    ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(threads, r -> {
      Thread t = new Thread(r, "consul-watch-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    pool.setRemoveOnCancelPolicy(true);
    return pool;
  }

  @Override
  public String name() {
    return "consul";
  }

  @Override
  public void start(Consumer<List<MeshEndpoint>> newListener) {
    requireNonNull(newListener, "listener");
    if (listener != null) {
      throw new IllegalStateException("already started");
    }
    listener = newListener;
    for (String service : services) {
      executor.execute(() -> poll(service));
    }
  }

  /** Whether the last query of any service failed (the last good state is in force). */
  public boolean stale() {
    return stale.get() != 0;
  }

  private void poll(String service) {
    if (closed) {
      return;
    }
    long started = System.nanoTime();
    long index = indexes.getOrDefault(service, 0L);
    try {
      HealthServicesRequest.Builder request = HealthServicesRequest.newBuilder()
          .setPassing(true)
          .setQueryParams(new QueryParams(
              watch.datacenter().isEmpty() ? null : watch.datacenter(),
              watch.blockingWait().toSeconds(), index));
      if (!settings.token().isEmpty()) {
        request.setToken(settings.token());
      }
      Response<List<HealthService>> response = client.getHealthServices(service, request.build());
      Long returned = response.getConsulIndex();
      long next = returned == null || returned < index || returned <= 0 ? 0 : returned;
      indexes.put(service, next);
      Integer failed = failures.remove(service);
      if (failed != null) {
        log.info("consul: {} reachable again after {} failed queries for {}", settings.address(), failed, service);
      }
      if (failures.isEmpty()) {
        stale.set(0);
      }
      List<MeshEndpoint> endpoints = ConsulEndpoints.map(service, serverRole.apply(service), response.getValue(), regionTier);
      List<MeshEndpoint> previous = byService.put(service, endpoints);
      if (previous == null || !previous.equals(endpoints)) {
        deliver();
      }
      long elapsedNanos = System.nanoTime() - started;
      long delay = Math.max(0, MIN_INTERVAL.toNanos() - elapsedNanos);
      schedule(service, delay);
    } catch (RuntimeException e) {
      int count = failures.merge(service, 1, Integer::sum);
      errors.increment();
      stale.set(1);
      Duration backoff = backoff(count);
      log.warn("consul: query for {} at {} failed ({}: {}); keeping the last good state ({} endpoints); retry #{} in {} ms",
          service, settings.address(), e.getClass().getSimpleName(), e.getMessage(),
          byService.getOrDefault(service, List.of()).size(), count, backoff.toMillis());
      schedule(service, backoff.toNanos());
    }
  }

  private void schedule(String service, long delayNanos) {
    if (closed) {
      return;
    }
    try {
      executor.schedule(() -> poll(service), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      if (!closed) {
        log.error("consul: cannot schedule the next query for {}; watching stopped", service, e);
      }
    }
  }

  private Duration backoff(int failureCount) {
    Duration d = watch.retryBackoff();
    for (int i = 1; i < failureCount && d.compareTo(MAX_BACKOFF) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
  }

  private synchronized void deliver() {
    if (closed) {
      return;
    }
    List<MeshEndpoint> all = new ArrayList<>();
    for (String service : services) {
      all.addAll(byService.getOrDefault(service, List.of()));
    }
    listener.accept(List.copyOf(all));
  }

  @Override
  public void close() {
    closed = true;
    if (ownsExecutor) {
      executor.shutdownNow();
    }
  }
}
