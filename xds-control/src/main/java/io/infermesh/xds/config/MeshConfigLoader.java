package io.infermesh.xds.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.xds.snapshot.BurstPolicy;
import io.infermesh.xds.snapshot.EndpointHealth;
import io.infermesh.xds.snapshot.EnvoyPolicy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.Protocol;
import io.infermesh.xds.snapshot.RegionPolicy;
import io.infermesh.xds.snapshot.ServicePolicy;
import io.infermesh.xds.snapshot.ShadowPolicy;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.snapshot.UpstreamPolicy;
import io.infermesh.xds.snapshot.VersionWeight;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads {@code mesh.yaml}. The annotated reference is {@code deploy/mesh.yaml}; every key there is
 * optional. Stateless.
 */
public final class MeshConfigLoader {

  /** Classpath resource of the embedded default: a loopback demo mesh with static endpoints. */
  public static final String DEFAULT_RESOURCE = "/io/infermesh/xds/config/default-mesh.yaml";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private MeshConfigLoader() {}

  /**
   * Reads and validates a file.
   *
   * @throws MeshConfigException naming the file, key and reason
   */
  public static MeshConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new MeshConfigException(file + ": no such file");
    } catch (IOException e) {
      throw new MeshConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
    Path base = file.toAbsolutePath().getParent();
    return parse(text, file.toString(), base);
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
   * @param source name used in error messages
   * @param baseDirectory relative paths in the file resolve against it
   */
  public static MeshConfig parse(String yaml, String source, Path baseDirectory) {
    JsonNode tree;
    try {
      tree = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new MeshConfigException(source + ": not valid YAML: " + e.getOriginalMessage(), e);
    }
    ConfigNode root = new ConfigNode(source, "", tree);
    String trustDomain = root.string("trust_domain", "mesh.local");
    List<RegionPolicy> regions = new ArrayList<>();
    for (ConfigNode r : root.objects("regions")) {
      regions.add(r.build(n -> new RegionPolicy(
          n.string("name", ""), Tier.parse(n.string("tier", "private")))));
      r.finish();
    }
    List<ServicePolicy> services = new ArrayList<>();
    for (ConfigNode s : root.objects("services")) {
      services.add(service(s));
    }
    if (services.isEmpty() && !root.has("services")) {
      services.add(ServicePolicy.grpc("core-inference").withPathPrefix("/infermesh.v1.Inference/"));
    }
    BurstPolicy burst = burst(root.child("burst"));
    UpstreamPolicy upstream = upstream(root.child("upstream"));
    ConfigNode envoyNode = root.child("envoy");
    EnvoyPolicy envoy = envoyNode.build(n -> new EnvoyPolicy(
        n.string("listener_address", "0.0.0.0"),
        n.integer("listener_port", 10_000),
        n.bool("downstream_tls", true)));
    envoyNode.finish();
    boolean mtls = root.bool("mtls", true);
    MeshPolicy policy = root.build(n -> new MeshPolicy(trustDomain, regions, services, burst, upstream, envoy, mtls));

    ControlSettings control = control(root.child("control"), baseDirectory);
    ConfigNode discovery = root.child("discovery");
    Optional<ConsulSettings> consul = consul(discovery.child("consul"));
    List<MeshEndpoint> endpoints = new ArrayList<>();
    for (ConfigNode e : discovery.objects("static")) {
      endpoints.add(endpoint(e, policy));
    }
    discovery.finish();
    root.finish();
    try {
      io.infermesh.xds.snapshot.MeshState.of(endpoints);
    } catch (IllegalArgumentException e) {
      throw new MeshConfigException(source + ": discovery.static: " + e.getMessage());
    }
    return new MeshConfig(policy, control, consul, endpoints);
  }

  private static ServicePolicy service(ConfigNode s) {
    List<VersionWeight> versions = new ArrayList<>();
    for (ConfigNode v : s.objects("versions")) {
      versions.add(v.build(n -> new VersionWeight(n.string("version", ""), n.integer("weight", 0))));
      v.finish();
    }
    Optional<ShadowPolicy> shadow = Optional.empty();
    if (s.has("shadow")) {
      ConfigNode sh = s.child("shadow");
      shadow = Optional.of(sh.build(n -> new ShadowPolicy(n.string("version", ""), n.number("percent", 0))));
      sh.finish();
    } else {
      s.child("shadow");
    }
    Optional<ShadowPolicy> shadowPolicy = shadow;
    ServicePolicy policy = s.build(n -> new ServicePolicy(
        n.string("name", ""),
        Protocol.parse(n.string("protocol", "grpc")),
        n.string("path_prefix", "/"),
        n.string("server_role", "core"),
        versions,
        shadowPolicy,
        n.string("pin_header", ServicePolicy.DEFAULT_PIN_HEADER),
        n.duration("request_timeout", Duration.ZERO)));
    s.finish();
    return policy;
  }

  private static BurstPolicy burst(ConfigNode b) {
    BurstPolicy d = BurstPolicy.defaults();
    BurstPolicy burst = b.build(n -> new BurstPolicy(
        n.bool("enabled", d.enabled()),
        n.number("high_watermark", d.highWatermark()),
        n.number("low_watermark", d.lowWatermark()),
        n.number("max_share", d.maxShare()),
        n.duration("min_hold", d.minHold())));
    b.finish();
    return burst;
  }

  private static UpstreamPolicy upstream(ConfigNode u) {
    UpstreamPolicy d = UpstreamPolicy.defaults();
    ConfigNode o = u.child("outlier");
    var od = d.outlier();
    var outlier = o.build(n -> new UpstreamPolicy.OutlierSettings(
        n.bool("proxyless", od.proxyless()),
        n.integer("consecutive_5xx", od.consecutive5xx()),
        n.duration("interval", od.interval()),
        n.duration("base_ejection_time", od.baseEjectionTime()),
        n.integer("max_ejection_percent", od.maxEjectionPercent()),
        n.integer("failure_percentage_threshold", od.failurePercentageThreshold()),
        n.integer("failure_percentage_minimum_hosts", od.failurePercentageMinimumHosts()),
        n.integer("failure_percentage_request_volume", od.failurePercentageRequestVolume())));
    o.finish();
    ConfigNode c = u.child("circuit_breakers");
    var cd = d.circuitBreakers();
    var breakers = c.build(n -> new UpstreamPolicy.CircuitBreakerSettings(
        n.integer("max_connections", cd.maxConnections()),
        n.integer("max_pending_requests", cd.maxPendingRequests()),
        n.integer("max_requests", cd.maxRequests()),
        n.integer("max_retries", cd.maxRetries())));
    c.finish();
    ConfigNode r = u.child("retries");
    var rd = d.retries();
    var retries = r.build(n -> new UpstreamPolicy.RetrySettings(
        n.strings("retry_on", rd.retryOn()),
        n.integer("num_retries", rd.numRetries()),
        n.duration("base_interval", rd.baseInterval()),
        n.duration("max_interval", rd.maxInterval())));
    r.finish();
    ConfigNode h = u.child("health_checks");
    var hd = d.healthChecks();
    var checks = h.build(n -> new UpstreamPolicy.HealthCheckSettings(
        n.bool("enabled", hd.enabled()),
        n.duration("interval", hd.interval()),
        n.duration("timeout", hd.timeout()),
        n.integer("unhealthy_threshold", hd.unhealthyThreshold()),
        n.integer("healthy_threshold", hd.healthyThreshold())));
    h.finish();
    UpstreamPolicy upstream = u.build(n -> new UpstreamPolicy(
        n.duration("connect_timeout", d.connectTimeout()),
        UpstreamPolicy.LbPolicy.parse(n.string("lb_policy", d.lbPolicy().name())),
        outlier, breakers, retries, checks));
    u.finish();
    return upstream;
  }

  private static ControlSettings control(ConfigNode c, Path base) {
    ConfigNode xds = c.child("xds");
    String xdsAddress = xds.string("address", "0.0.0.0");
    int xdsPort = xds.integer("port", 18_000);
    boolean plaintext = xds.bool("plaintext", false);
    xds.finish();
    ConfigNode admin = c.child("admin");
    String adminAddress = admin.string("address", "127.0.0.1");
    int adminPort = admin.integer("port", 18_080);
    admin.finish();
    Optional<ControlSettings.Credentials> credentials = Optional.empty();
    ConfigNode cred = c.child("credentials");
    if (c.has("credentials")) {
      Path dir = base.resolve(cred.string("directory", "certs"));
      String name = cred.string("name", "control");
      credentials = Optional.of(cred.build(n -> new ControlSettings.Credentials(dir, name)));
    }
    cred.finish();
    for (String gone : new String[] {"ca_directory", "envoy_cert_validity"}) {
      if (c.has(gone)) {
        throw c.error(gone, "no longer read: the control plane holds no CA key and "
            + "mints no certificates; issue each gateway's own with 'infermesh certs issue --role gateway --region R "
            + "--name <its node.id>' into control.gateway_certificates (default: control.credentials.directory)");
      }
    }
    String gateways = c.string("gateway_certificates", "");
    Optional<Path> gatewayDir = gateways.isBlank() ? Optional.empty() : Optional.of(base.resolve(gateways));
    Optional<ControlSettings.Credentials> creds = credentials;
    ControlSettings settings = c.build(n -> new ControlSettings(
        xdsAddress, xdsPort, plaintext, adminAddress, adminPort, creds, gatewayDir,
        n.duration("refresh_interval", Duration.ofSeconds(1))));
    c.finish();
    return settings;
  }

  private static Optional<ConsulSettings> consul(ConfigNode c) {
    if (!c.bool("enabled", false)) {
      // read the other keys so a disabled block may still be filled in
      c.string("address", "");
      c.string("token", "");
      c.string("datacenter", "");
      c.duration("wait", Duration.ofSeconds(30));
      c.duration("retry_backoff", Duration.ofSeconds(1));
      c.strings("services", List.of());
      c.finish();
      return Optional.empty();
    }
    String address = c.string("address", "http://127.0.0.1:8500");
    URI uri;
    try {
      uri = URI.create(address);
    } catch (IllegalArgumentException e) {
      throw c.error("address", "is not a URI: " + address);
    }
    URI consulUri = uri;
    ConsulSettings settings = c.build(n -> new ConsulSettings(
        consulUri,
        n.string("token", ""),
        n.string("datacenter", ""),
        n.duration("wait", Duration.ofSeconds(30)),
        n.duration("retry_backoff", Duration.ofSeconds(1)),
        n.strings("services", List.of())));
    c.finish();
    return Optional.of(settings);
  }

  private static MeshEndpoint endpoint(ConfigNode e, MeshPolicy policy) {
    MeshEndpoint endpoint = e.build(n -> {
      String region = n.string("region", "");
      Tier regionTier = policy.region(region).map(RegionPolicy::tier).orElse(Tier.PRIVATE);
      String service = n.string("service", "core-inference");
      String address = n.string("address", "");
      int port = n.integer("port", 9443);
      return MeshEndpoint.builder(service, address, port, region)
          .id(n.string("id", address + ":" + port))
          .zone(n.string("zone", ""))
          .tier(Tier.parse(n.string("tier", regionTier.yamlName())))
          .model(n.string("model", service))
          .version(n.string("version", "v1"))
          .health(EndpointHealth.parse(n.string("health", "healthy")))
          .utilization(n.number("utilization", 0))
          .build();
    });
    e.finish();
    return endpoint;
  }
}
