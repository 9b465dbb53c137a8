package io.infermesh.xds.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.xds.canary.RolloutPlan;
import io.infermesh.xds.snapshot.BurstPolicy;
import io.infermesh.xds.snapshot.EndpointHealth;
import io.infermesh.xds.snapshot.EnvoyPolicy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.MeshState;
import io.infermesh.xds.snapshot.Protocol;
import io.infermesh.xds.snapshot.RegionPolicy;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.infermesh.xds.snapshot.ShadowPolicy;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.snapshot.UpstreamPolicy;
import io.infermesh.xds.snapshot.VersionWeight;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Reads {@code mesh.yaml} with the reader every infermesh config shares ({@link ConfigSection}):
 * every key optional (the annotated reference is {@code deploy/mesh.yaml}), unknown keys refused,
 * durations in the one grammar, and every error a {@link ConfigException} naming the file, the
 * full key and the reason ({@code mesh.yaml: burst.high_watermrk: unknown key}). Stateless.
 */
public final class MeshConfigLoader {

  /** Classpath resource of the embedded default: a loopback demo mesh with static endpoints. */
  public static final String DEFAULT_RESOURCE = "/io/infermesh/xds/config/default-mesh.yaml";
  /** The control plane's {@code discovery.consul} defaults: the local agent, off until {@code enabled}. */
  public static final ConsulConfig CONSUL_DEFAULT = ConsulConfig.controlPlane().build();

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final String EXAMPLE = "deploy/mesh.yaml";

  private MeshConfigLoader() {}

  /**
   * Reads and validates {@code file}; relative paths in it resolve against its directory.
   *
   * @throws IOException when the file cannot be read
   * @throws ConfigException naming the file, key and reason
   */
  public static MeshConfig load(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "config file not found");
    }
    return parse(text, file.toString(), file.toAbsolutePath().getParent());
  }

  /** The embedded default configuration. */
  public static MeshConfig defaults() {
    try (InputStream in = MeshConfigLoader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + DEFAULT_RESOURCE);
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "default-mesh.yaml", Path.of("."));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + DEFAULT_RESOURCE, e);
    }
  }

  /**
   * Parses YAML text.
   *
   * @param source the file name errors start with
   * @param baseDirectory relative paths in the file resolve against it
   * @throws ConfigException naming {@code source}, the key and the reason
   */
  public static MeshConfig parse(String yaml, String source, Path baseDirectory) {
    try {
      return parse(tree(yaml), baseDirectory);
    } catch (ConfigException e) {
      throw e.inFile(source);
    }
  }

  private static JsonNode tree(String yaml) {
    try {
      return YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException("(yaml)", "not valid YAML: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()));
    }
  }

  private static MeshConfig parse(JsonNode tree, Path base) {
    ConfigSection root = ConfigSection.root(tree, EXAMPLE);
    String trustDomain = root.string("trust_domain", "mesh.local");
    List<RegionPolicy> regions = new ArrayList<>();
    for (ConfigSection r : root.sections("regions")) {
      String name = r.string("name", "");
      Tier tier = parsed(r, "tier", "private", Tier::parse);
      regions.add(r.build(() -> new RegionPolicy(name, tier)));
      r.finish();
    }
    List<ServicePolicy> services = new ArrayList<>();
    for (ConfigSection s : root.sections("services")) {
      services.add(service(s));
    }
    if (services.isEmpty() && !root.has("services")) {
      services.add(ServicePolicy.grpc("core-inference").withPathPrefix("/infermesh.v1.Inference/"));
    }
    BurstPolicy burst = burst(root.section("burst"));
    UpstreamPolicy upstream = upstream(root.section("upstream"));
    EnvoyPolicy envoy = envoy(root.section("envoy"));
    boolean mtls = root.bool("mtls", true);
    MeshPolicy policy = root.build(() -> new MeshPolicy(trustDomain, regions, services, burst, upstream, envoy, mtls));

    ControlSettings control = control(root.section("control"), base);
    ConfigSection discovery = root.section("discovery");
    Optional<ConsulConfig> consul = consul(discovery.section("consul"));
    List<MeshEndpoint> endpoints = new ArrayList<>();
    for (ConfigSection e : discovery.sections("static")) {
      endpoints.add(endpoint(e, policy));
    }
    discovery.finish();
    List<RolloutPlan> rollouts = new ArrayList<>();
    for (ConfigSection r : root.sections("rollouts")) {
      rollouts.add(rollout(r, policy, rollouts));
    }
    root.finish();
    try {
      MeshState.of(endpoints);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("discovery.static", e.getMessage());
    }
    return new MeshConfig(policy, control, consul, endpoints, rollouts);
  }

  /** {@code rollouts[i]}: a canary of a listed service that declares no {@code versions} of its own. */
  private static RolloutPlan rollout(ConfigSection r, MeshPolicy policy, List<RolloutPlan> earlier) {
    RolloutPlan d = RolloutPlan.of("core-inference", "v1", "v2");
    String service = r.string("service", "");
    String stable = r.string("stable", "");
    String canary = r.string("canary", "");
    List<Integer> steps = r.integers("steps", d.steps());
    Duration dwell = r.duration("dwell", d.dwell());
    long minRequests = r.longValue("min_requests", d.minRequests());
    double maxErrorRate = r.number("max_error_rate", d.maxErrorRate());
    Duration maxTtftP99 = r.duration("max_ttft_p99", d.maxTtftP99());
    Duration interval = r.duration("interval", d.interval());
    RolloutPlan plan = r.build(() -> new RolloutPlan(service, stable, canary, steps, dwell, minRequests,
        maxErrorRate, maxTtftP99, interval));
    r.finish();
    ServicePolicy target = policy.service(service).orElseThrow(() -> new ConfigException(r.key("service"),
        "must name a service listed under services, was '" + service + "'"));
    if (!target.versions().isEmpty()) {
      throw new ConfigException(r.key("service"), "service " + service
          + " declares versions itself; a rollout sets its weights, remove one or the other");
    }
    if (earlier.stream().anyMatch(p -> p.service().equals(service))) {
      throw new ConfigException(r.key("service"), "service " + service + " has a rollout already");
    }
    return plan;
  }

  /** A text value that {@code parser} turns into a type, its refusal named by the key. */
  private static <T> T parsed(ConfigSection s, String name, String fallback, Function<String, T> parser) {
    String text = s.string(name, fallback);
    try {
      return parser.apply(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(s.key(name), e.getMessage());
    }
  }

  private static ServicePolicy service(ConfigSection s) {
    List<VersionWeight> versions = new ArrayList<>();
    for (ConfigSection v : s.sections("versions")) {
      String version = v.string("version", "");
      int weight = v.integer("weight", 0);
      versions.add(v.build(() -> new VersionWeight(version, weight)));
      v.finish();
    }
    Optional<ShadowPolicy> shadow = s.optionalSection("shadow").map(sh -> {
      String version = sh.string("version", "");
      double percent = sh.number("percent", 0);
      ShadowPolicy p = sh.build(() -> new ShadowPolicy(version, percent));
      sh.finish();
      return p;
    });
    String name = s.string("name", "");
    Protocol protocol = parsed(s, "protocol", "grpc", Protocol::parse);
    String pathPrefix = s.string("path_prefix", "/");
    String serverRole = s.string("server_role", "core");
    String pinHeader = s.string("pin_header", ServicePolicy.DEFAULT_PIN_HEADER);
    Duration requestTimeout = s.duration("request_timeout", Duration.ZERO);
    ServicePolicy policy = s.build(() -> new ServicePolicy(name, protocol, pathPrefix, serverRole, versions, shadow,
        pinHeader, requestTimeout));
    s.finish();
    return policy;
  }

  private static BurstPolicy burst(ConfigSection b) {
    BurstPolicy d = BurstPolicy.defaults();
    boolean enabled = b.bool("enabled", d.enabled());
    double high = b.number("high_watermark", d.highWatermark());
    double low = b.number("low_watermark", d.lowWatermark());
    double maxShare = b.number("max_share", d.maxShare());
    Duration minHold = b.duration("min_hold", d.minHold());
    BurstPolicy burst = b.build(() -> new BurstPolicy(enabled, high, low, maxShare, minHold));
    b.finish();
    return burst;
  }

  private static EnvoyPolicy envoy(ConfigSection e) {
    String address = e.string("listener_address", "0.0.0.0");
    int port = e.integer("listener_port", 10_000);
    boolean downstreamTls = e.bool("downstream_tls", true);
    EnvoyPolicy envoy = e.build(() -> new EnvoyPolicy(address, port, downstreamTls));
    e.finish();
    return envoy;
  }

  private static UpstreamPolicy upstream(ConfigSection u) {
    UpstreamPolicy d = UpstreamPolicy.defaults();
    Duration connectTimeout = u.duration("connect_timeout", d.connectTimeout());
    UpstreamPolicy.LbPolicy lb = parsed(u, "lb_policy", d.lbPolicy().name(), UpstreamPolicy.LbPolicy::parse);
    UpstreamPolicy.OutlierSettings outlier = outlier(u.section("outlier"), d.outlier());
    UpstreamPolicy.CircuitBreakerSettings breakers = breakers(u.section("circuit_breakers"), d.circuitBreakers());
    UpstreamPolicy.RetrySettings retries = retries(u.section("retries"), d.retries());
    UpstreamPolicy.HealthCheckSettings checks = healthChecks(u.section("health_checks"), d.healthChecks());
    UpstreamPolicy upstream = u.build(() -> new UpstreamPolicy(connectTimeout, lb, outlier, breakers, retries, checks));
    u.finish();
    return upstream;
  }

  private static UpstreamPolicy.OutlierSettings outlier(ConfigSection o, UpstreamPolicy.OutlierSettings d) {
    boolean proxyless = o.bool("proxyless", d.proxyless());
    int consecutive5xx = o.integer("consecutive_5xx", d.consecutive5xx());
    Duration interval = o.duration("interval", d.interval());
    Duration baseEjectionTime = o.duration("base_ejection_time", d.baseEjectionTime());
    int maxEjectionPercent = o.integer("max_ejection_percent", d.maxEjectionPercent());
    int threshold = o.integer("failure_percentage_threshold", d.failurePercentageThreshold());
    int minimumHosts = o.integer("failure_percentage_minimum_hosts", d.failurePercentageMinimumHosts());
    int requestVolume = o.integer("failure_percentage_request_volume", d.failurePercentageRequestVolume());
    UpstreamPolicy.OutlierSettings outlier = o.build(() -> new UpstreamPolicy.OutlierSettings(proxyless,
        consecutive5xx, interval, baseEjectionTime, maxEjectionPercent, threshold, minimumHosts, requestVolume));
    o.finish();
    return outlier;
  }

  private static UpstreamPolicy.CircuitBreakerSettings breakers(ConfigSection c,
      UpstreamPolicy.CircuitBreakerSettings d) {
    int maxConnections = c.integer("max_connections", d.maxConnections());
    int maxPending = c.integer("max_pending_requests", d.maxPendingRequests());
    int maxRequests = c.integer("max_requests", d.maxRequests());
    int maxRetries = c.integer("max_retries", d.maxRetries());
    UpstreamPolicy.CircuitBreakerSettings breakers = c.build(() -> new UpstreamPolicy.CircuitBreakerSettings(
        maxConnections, maxPending, maxRequests, maxRetries));
    c.finish();
    return breakers;
  }

  private static UpstreamPolicy.RetrySettings retries(ConfigSection r, UpstreamPolicy.RetrySettings d) {
    List<String> retryOn = r.strings("retry_on", d.retryOn());
    int numRetries = r.integer("num_retries", d.numRetries());
    Duration baseInterval = r.duration("base_interval", d.baseInterval());
    Duration maxInterval = r.duration("max_interval", d.maxInterval());
    UpstreamPolicy.RetrySettings retries = r.build(() -> new UpstreamPolicy.RetrySettings(retryOn, numRetries,
        baseInterval, maxInterval));
    r.finish();
    return retries;
  }

  private static UpstreamPolicy.HealthCheckSettings healthChecks(ConfigSection h,
      UpstreamPolicy.HealthCheckSettings d) {
    boolean enabled = h.bool("enabled", d.enabled());
    Duration interval = h.duration("interval", d.interval());
    Duration timeout = h.duration("timeout", d.timeout());
    int unhealthy = h.integer("unhealthy_threshold", d.unhealthyThreshold());
    int healthy = h.integer("healthy_threshold", d.healthyThreshold());
    UpstreamPolicy.HealthCheckSettings checks = h.build(() -> new UpstreamPolicy.HealthCheckSettings(enabled,
        interval, timeout, unhealthy, healthy));
    h.finish();
    return checks;
  }

  private static ControlSettings control(ConfigSection c, Path base) {
    ControlSettings.Builder b = ControlSettings.builder();
    ConfigSection xds = c.section("xds");
    b.xds(xds.string("address", ControlSettings.DEFAULT_XDS_ADDRESS),
            xds.integer("port", ControlSettings.DEFAULT_XDS_PORT))
        .plaintext(xds.bool("plaintext", false));
    xds.finish();
    ConfigSection admin = c.section("admin");
    b.admin(admin.string("address", ControlSettings.DEFAULT_ADMIN_ADDRESS),
        admin.integer("port", ControlSettings.DEFAULT_ADMIN_PORT));
    admin.finish();
    c.optionalSection("credentials").ifPresent(cred -> {
      Path dir = base.resolve(cred.string("directory", "certs"));
      String name = cred.string("name", "control");
      b.credentials(cred.build(() -> new ControlSettings.Credentials(dir, name)));
      cred.finish();
    });
    for (String gone : new String[] {"ca_directory", "envoy_cert_validity"}) {
      if (c.has(gone)) {
        throw new ConfigException(c.key(gone), "no longer read: the control plane holds no CA key and "
            + "mints no certificates; issue each gateway's own with 'infermesh certs issue --role gateway --region R "
            + "--name <its node.id>' into control.gateway_certificates (default: control.credentials.directory)");
      }
    }
    String gateways = c.string("gateway_certificates", "");
    if (!gateways.isBlank()) {
      b.gatewayCertificates(base.resolve(gateways));
    }
    b.refreshInterval(c.duration("refresh_interval", ControlSettings.DEFAULT_REFRESH_INTERVAL));
    c.finish();
    return c.build(b::build);
  }

  /** {@code discovery.consul}: read (and checked) even while {@code enabled} is false, so it may be filled in ahead. */
  private static Optional<ConsulConfig> consul(ConfigSection c) {
    boolean enabled = c.bool("enabled", false);
    ConsulConfig consul = ConsulConfig.read(c, CONSUL_DEFAULT);
    if (enabled && !consul.enabled()) {
      throw new ConfigException(c.key("address"), "must be the agent's http(s)://host:port when enabled is true");
    }
    return enabled ? Optional.of(consul) : Optional.empty();
  }

  private static MeshEndpoint endpoint(ConfigSection e, MeshPolicy policy) {
    String region = e.string("region", "");
    Tier regionTier = policy.region(region).map(RegionPolicy::tier).orElse(Tier.PRIVATE);
    String service = e.string("service", "core-inference");
    String address = e.string("address", "");
    int port = e.integer("port", 9443);
    String id = e.string("id", address + ":" + port);
    String zone = e.string("zone", "");
    Tier tier = parsed(e, "tier", regionTier.yamlName(), Tier::parse);
    String model = e.string("model", service);
    String version = e.string("version", "v1");
    EndpointHealth health = parsed(e, "health", "healthy", EndpointHealth::parse);
    double utilization = e.number("utilization", 0);
    int metricsPort = e.integer("metrics_port", 0);
    MeshEndpoint endpoint = e.build(() -> MeshEndpoint.builder(service, address, port, region)
        .id(id).zone(zone).tier(tier).model(model).version(version).health(health).utilization(utilization)
        .metricsPort(metricsPort).build());
    e.finish();
    return endpoint;
  }
}
