package io.infermesh.node.registration;

import static java.util.Objects.requireNonNull;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A process's {@code consul:} section, the same record and the same rules in {@code edge.yaml},
 * {@code core.yaml} and {@code mesh.yaml} ({@code discovery.consul}): the local agent every
 * process talks to, and what the process does there. A node (edge agent, core node) registers
 * itself ({@link Registration}); the control plane watches services ({@link Watch}). What differs
 * between processes (the service a node registers in, whether it smooths its load, the agent
 * address assumed) is the defaults it starts from, {@link #node} or {@link #controlPlane}, and
 * {@link #read} reads exactly the keys those defaults carry, so each file accepts its own keys
 * and refuses the others'. Immutable.
 *
 * @param address the agent's HTTP API, {@code http(s)://host:port} without a trailing slash; empty
 *     (a node's default) registers nowhere
 * @param token ACL token sent as {@code X-Consul-Token}; empty sends none
 * @param registration what a node registers (present in an edge's or a core's section)
 * @param watch what the control plane watches (present in {@code discovery.consul})
 */
public record ConsulConfig(String address, String token, Optional<Registration> registration, Optional<Watch> watch) {

  public ConsulConfig {
    requireNonNull(address, "address");
    requireNonNull(token, "token");
    requireNonNull(registration, "registration");
    requireNonNull(watch, "watch");
  }

  /**
   * A node's defaults: no agent (registration off until {@code address} is set), registering in
   * {@code serviceName}, tier private, reporting every 10s, removed 1m after its check turns
   * critical.
   */
  public static Builder node(String serviceName) {
    return new Builder("", Optional.of(new Registration(serviceName, "", "private", Duration.ofSeconds(10),
        Duration.ofMinutes(1), Optional.empty())), Optional.empty());
  }

  /**
   * The control plane's defaults: the agent on {@code http://127.0.0.1:8500}, blocking queries of
   * 30s, a first retry after 1s, every service of the mesh policy.
   */
  public static Builder controlPlane() {
    return new Builder("http://127.0.0.1:8500", Optional.empty(),
        Optional.of(new Watch("", Duration.ofSeconds(30), Duration.ofSeconds(1), List.of())));
  }

  /**
   * Reads the {@code consul} section {@code s}: {@code address} and {@code token}; a node's
   * {@code service_name}, {@code service_address}, {@code tier}, {@code check_interval}, {@code
   * deregister_after} and, when its defaults smooth the load, {@code utilization_window}; the control
   * plane's {@code datacenter}, {@code wait}, {@code retry_backoff} and {@code services}. Every key
   * missing takes its value from {@code defaults}; any other key is refused.
   *
   * @throws ConfigException naming the full key (e.g. {@code discovery.consul.wait})
   */
  public static ConsulConfig read(ConfigSection s, ConsulConfig defaults) {
    Builder b = defaults.toBuilder().at(s.key());
    b.address(s.string("address", defaults.address)).token(s.string("token", defaults.token));
    defaults.registration.ifPresent(r -> {
      b.serviceName(s.string("service_name", r.serviceName()))
          .serviceAddress(s.string("service_address", r.serviceAddress()))
          .tier(s.string("tier", r.tier()))
          .checkInterval(s.duration("check_interval", r.checkInterval()))
          .deregisterAfter(s.duration("deregister_after", r.deregisterAfter()));
      r.utilizationWindow().ifPresent(w -> b.utilizationWindow(s.duration("utilization_window", w)));
    });
    defaults.watch.ifPresent(w -> b.datacenter(s.string("datacenter", w.datacenter()))
        .blockingWait(s.duration("wait", w.blockingWait()))
        .retryBackoff(s.duration("retry_backoff", w.retryBackoff()))
        .services(s.strings("services", w.services())));
    s.finish();
    return b.build();
  }

  /** Whether an agent is configured (for a node: whether it registers). */
  public boolean enabled() {
    return !address.isEmpty();
  }

  /** The agent's address as a URI; only when {@link #enabled()}. */
  public URI uri() {
    return URI.create(address);
  }

  /** The agent's port, by scheme when the address names none; only when {@link #enabled()}. */
  public int port() {
    URI uri = uri();
    return uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
  }

  /** A builder holding these settings, to change some (a flag's value) and build again. */
  public Builder toBuilder() {
    return new Builder(address, registration, watch).token(token);
  }

  /**
   * What a node registers ({@code consul:} in {@code edge.yaml} and {@code core.yaml}).
   *
   * @param serviceName the Consul service (what xds-control watches: {@code core-inference} for
   *     cores, {@code edge-inference} for edges; discovery routes a service only to the role its
   *     policy names)
   * @param serviceAddress the address registered (what peers dial); empty = the agent's node address
   * @param tier {@code private} or {@code public}: the capacity pool the node belongs to
   * @param checkInterval how often the node reports to its TTL check (the TTL is three intervals); at least 1s
   * @param deregisterAfter Consul removes the node after its check has been critical this long; at
   *     least 1m, Consul's minimum
   * @param utilizationWindow time constant of the moving average of the load the node publishes
   *     ({@code 0}: the instant figure); empty for a node that publishes its instant load and offers
   *     no such key (an edge)
   */
  public record Registration(String serviceName, String serviceAddress, String tier, Duration checkInterval,
      Duration deregisterAfter, Optional<Duration> utilizationWindow) {
    public Registration {
      requireNonNull(serviceName, "serviceName");
      requireNonNull(serviceAddress, "serviceAddress");
      requireNonNull(tier, "tier");
      requireNonNull(checkInterval, "checkInterval");
      requireNonNull(deregisterAfter, "deregisterAfter");
      requireNonNull(utilizationWindow, "utilizationWindow");
    }
  }

  /**
   * What the control plane watches ({@code discovery.consul} in {@code mesh.yaml}).
   *
   * @param datacenter the datacenter to query; empty = the agent's
   * @param blockingWait how long one blocking query may wait for a change, 1s..10m (Consul's cap)
   * @param retryBackoff first pause after a failed query; doubles up to 30s
   * @param services Consul service names to watch; empty = every service of the mesh policy
   */
  public record Watch(String datacenter, Duration blockingWait, Duration retryBackoff, List<String> services) {
    public Watch {
      requireNonNull(datacenter, "datacenter");
      requireNonNull(blockingWait, "blockingWait");
      requireNonNull(retryBackoff, "retryBackoff");
      services = List.copyOf(requireNonNull(services, "services"));
    }
  }

  /**
   * Configures a {@link ConsulConfig} from {@link ConsulConfig#node} or {@link
   * ConsulConfig#controlPlane} defaults; {@link #build()} checks every rule and names the key
   * ({@code consul.tier}, or under {@link #at}). A node's setters on the control plane's builder,
   * or the reverse, fail: that key is not in its file. Not thread-safe.
   */
  public static final class Builder {
    private String key = "consul";
    private String address;
    private String token = "";
    private final Registration registration;
    private final Watch watch;
    private String serviceName;
    private String serviceAddress;
    private String tier;
    private Duration checkInterval;
    private Duration deregisterAfter;
    private Optional<Duration> utilizationWindow;
    private String datacenter;
    private Duration blockingWait;
    private Duration retryBackoff;
    private List<String> services;

    private Builder(String address, Optional<Registration> registration, Optional<Watch> watch) {
      this.address = address;
      this.registration = registration.orElse(null);
      this.watch = watch.orElse(null);
      registration.ifPresent(r -> {
        serviceName = r.serviceName();
        serviceAddress = r.serviceAddress();
        tier = r.tier();
        checkInterval = r.checkInterval();
        deregisterAfter = r.deregisterAfter();
        utilizationWindow = r.utilizationWindow();
      });
      watch.ifPresent(w -> {
        datacenter = w.datacenter();
        blockingWait = w.blockingWait();
        retryBackoff = w.retryBackoff();
        services = w.services();
      });
    }

    /** The section's dotted key errors name; default {@code consul}. */
    public Builder at(String sectionKey) {
      this.key = requireNonNull(sectionKey, "sectionKey");
      return this;
    }

    /** The agent, {@code http(s)://host:port}; a trailing slash is dropped, blank means none. */
    public Builder address(String address) {
      this.address = requireNonNull(address, "address").strip();
      return this;
    }

    /** ACL token; default none. */
    public Builder token(String token) {
      this.token = requireNonNull(token, "token");
      return this;
    }

    /** The Consul service the node registers in; default the process's ({@link ConsulConfig#node}). */
    public Builder serviceName(String serviceName) {
      registering("service_name");
      this.serviceName = requireNonNull(serviceName, "serviceName");
      return this;
    }

    /** Default empty: the agent's node address. */
    public Builder serviceAddress(String serviceAddress) {
      registering("service_address");
      this.serviceAddress = requireNonNull(serviceAddress, "serviceAddress").strip();
      return this;
    }

    /** {@code private} (the default) or {@code public}. */
    public Builder tier(String tier) {
      registering("tier");
      this.tier = requireNonNull(tier, "tier");
      return this;
    }

    /** Default 10s, at least 1s. */
    public Builder checkInterval(Duration checkInterval) {
      registering("check_interval");
      this.checkInterval = requireNonNull(checkInterval, "checkInterval");
      return this;
    }

    /** Default 1m, at least 1m. */
    public Builder deregisterAfter(Duration deregisterAfter) {
      registering("deregister_after");
      this.deregisterAfter = requireNonNull(deregisterAfter, "deregisterAfter");
      return this;
    }

    /** Makes the node smooth the load it publishes over {@code window} (zero: the instant figure). */
    public Builder utilizationWindow(Duration window) {
      registering("utilization_window");
      this.utilizationWindow = Optional.of(requireNonNull(window, "window"));
      return this;
    }

    /** Default empty: the agent's datacenter. */
    public Builder datacenter(String datacenter) {
      watching("datacenter");
      this.datacenter = requireNonNull(datacenter, "datacenter");
      return this;
    }

    /** Default 30s, 1s..10m. */
    public Builder blockingWait(Duration blockingWait) {
      watching("wait");
      this.blockingWait = requireNonNull(blockingWait, "blockingWait");
      return this;
    }

    /** Default 1s, positive. */
    public Builder retryBackoff(Duration retryBackoff) {
      watching("retry_backoff");
      this.retryBackoff = requireNonNull(retryBackoff, "retryBackoff");
      return this;
    }

    /** Default none: every service of the mesh policy. */
    public Builder services(List<String> services) {
      watching("services");
      this.services = List.copyOf(requireNonNull(services, "services"));
      return this;
    }

    private void registering(String setting) {
      if (registration == null) {
        throw new IllegalStateException(setting + " is a registering node's setting, not the control plane's");
      }
    }

    private void watching(String setting) {
      if (watch == null) {
        throw new IllegalStateException(setting + " is the control plane's setting, not a registering node's");
      }
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public ConsulConfig build() {
      String a = address.endsWith("/") ? address.substring(0, address.length() - 1) : address;
      if (!a.isEmpty() && !a.matches("https?://[^\\s/]+")) {
        throw invalid("address", "must be the agent's http(s)://host:port, got '" + address + "'");
      }
      Optional<Registration> r = Optional.empty();
      if (registration != null) {
        if (!serviceName.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
          throw invalid("service_name", "must be letters, digits, '-', '_' or '.', got '" + serviceName + "'");
        }
        if (!"private".equals(tier) && !"public".equals(tier)) {
          throw invalid("tier", "must be private or public, got '" + tier + "'");
        }
        if (checkInterval.compareTo(Duration.ofSeconds(1)) < 0) {
          throw invalid("check_interval", "must be at least 1s, got " + checkInterval);
        }
        if (deregisterAfter.compareTo(Duration.ofMinutes(1)) < 0) {
          throw invalid("deregister_after", "must be at least 1m (Consul's minimum), got " + deregisterAfter);
        }
        if (utilizationWindow.filter(Duration::isNegative).isPresent()) {
          throw invalid("utilization_window", "must be a duration >= 0, got " + utilizationWindow.get());
        }
        r = Optional.of(new Registration(serviceName, serviceAddress, tier, checkInterval, deregisterAfter,
            utilizationWindow));
      }
      Optional<Watch> w = Optional.empty();
      if (watch != null) {
        if (blockingWait.compareTo(Duration.ofSeconds(1)) < 0 || blockingWait.compareTo(Duration.ofMinutes(10)) > 0) {
          throw invalid("wait", "must be 1s..10m (Consul's cap), got " + blockingWait);
        }
        if (retryBackoff.isNegative() || retryBackoff.isZero()) {
          throw invalid("retry_backoff", "must be positive, got " + retryBackoff);
        }
        w = Optional.of(new Watch(datacenter, blockingWait, retryBackoff, services));
      }
      return new ConsulConfig(a, token, r, w);
    }

    private ConfigException invalid(String name, String reason) {
      return new ConfigException(key.isEmpty() ? name : key + "." + name, reason);
    }
  }
}
