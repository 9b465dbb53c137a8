package io.infermesh.xds.snapshot;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Builds RDS route configurations. For each service, in order: one route per version that matches
 * the pin header exactly; then the default route, split by the canary weights over the versions
 * that have a healthy endpoint (falling back to the all-versions cluster), with retries and, on
 * Envoy, shadow mirroring and the request timeout. Stateless.
 */
final class RouteResources {

  static final String PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";

  /**
   * How this code builds routes: the digest of a sample service's Envoy ingress and proxyless
   * route configuration, mixed into {@link #inputsDigest} so that other code hands out other
   * versions for the same inputs.
   */
  private static final byte[] SHAPE = shape();

  private RouteResources() {}

  /**
   * A digest of everything a service's routes on {@code plane} are built from: its name and pin
   * header, the versions it has clusters for and their live canary weights, the retry conditions
   * the plane gets and the other mesh-wide retry settings, on Envoy also its path prefix, request
   * timeout and shadow; and {@link #SHAPE}. Equal digests mean {@link #envoyServiceRoutes} (or
   * {@link #grpcService}) build equal routes, and a change to one plane's inputs leaves the
   * other's digest alone, so route versions are composed from it without encoding the routes.
   * A new input to the routes must be added here.
   */
  static byte[] inputsDigest(ServicePolicy service, MeshPolicy policy, List<MeshEndpoint> endpoints, DataPlane plane) {
    Set<String> discovered = new TreeSet<>();
    endpoints.forEach(e -> discovered.add(e.version()));
    ComposedDigest d = new ComposedDigest().string(plane.name()).string(service.name()).string(service.pinHeader());
    Set<String> versions = versions(service, discovered);
    d.integer(versions.size());
    versions.forEach(d::string);
    List<VersionWeight> live = liveWeights(service, endpoints);
    d.integer(live.size());
    live.forEach(v -> d.string(v.version()).integer(v.weight()));
    UpstreamPolicy.RetrySettings retries = policy.upstream().retries();
    List<String> retryOn = plane == DataPlane.ENVOY ? retries.retryOn() : retries.grpcRetryOn();
    d.integer(retryOn.size());
    retryOn.forEach(d::string);
    d.integer(retries.numRetries()).string(retries.baseInterval().toString())
        .string(retries.maxInterval().toString());
    if (plane == DataPlane.ENVOY) {
      d.string(service.pathPrefix()).string(service.requestTimeout().toString());
      service.shadow().ifPresentOrElse(
          shadow -> d.integer(1).string(shadow.version()).integer(shadow.perTenThousand()), () -> d.integer(0));
    }
    if (SHAPE != null) { // null only while SHAPE itself is built
      d.bytes(SHAPE);
    }
    return d.digest();
  }

  /** The proxyless route configuration of a service whose gRPC routes' inputs have {@code inputs} as digest. */
  static Versioned<RouteConfiguration> grpcServiceVersioned(
      ServicePolicy service, MeshPolicy policy, List<MeshEndpoint> endpoints, byte[] inputs) {
    return Versioned.of(grpcService(service, policy, endpoints),
        new ComposedDigest().type(RouteConfiguration.getDescriptor()).bytes(inputs).digest());
  }

  /** The digest of Envoy's ingress from the services' Envoy {@link #inputsDigest}s, given in service order. */
  static byte[] envoyIngressDigest(List<ServicePolicy> services, Function<ServicePolicy, byte[]> inputsOf) {
    ComposedDigest d = new ComposedDigest().type(RouteConfiguration.getDescriptor()).string(ResourceNames.INGRESS)
        .integer(services.size());
    for (ServicePolicy s : services) { // the order envoyIngress sorts them in follows from these inputs
      d.bytes(inputsOf.apply(s));
    }
    return d.digest();
  }

  private static byte[] shape() {
    ServicePolicy sample = ServicePolicy.grpc("shape").withPathPrefix("/shape/")
        .withVersions(List.of(new VersionWeight("a", 90), new VersionWeight("b", 10)))
        .withShadow(new ShadowPolicy("b", 5)).withRequestTimeout(Duration.ofSeconds(1));
    MeshPolicy policy = MeshPolicy.defaults("shape", List.of(new RegionPolicy("shape", Tier.PRIVATE)));
    List<MeshEndpoint> endpoints = List.of(
        MeshEndpoint.builder("shape", "10.0.0.1", 1, "shape").id("a").version("a").build(),
        MeshEndpoint.builder("shape", "10.0.0.2", 1, "shape").id("b").version("b").build());
    List<Route> routes = envoyServiceRoutes(sample, policy, endpoints);
    return new ComposedDigest()
        .bytes(ResourceVersions.digest(envoyIngress(List.of(sample), s -> routes)))
        .bytes(ResourceVersions.digest(grpcService(sample, policy, endpoints)))
        .digest();
  }

  /** Envoy's ingress from each service's routes ({@link #envoyServiceRoutes}), longest prefix first. */
  static RouteConfiguration envoyIngress(List<ServicePolicy> services, Function<ServicePolicy, List<Route>> routesOf) {
    List<ServicePolicy> sorted = new ArrayList<>(services);
    sorted.sort(Comparator.comparing((ServicePolicy s) -> s.pathPrefix().length()).reversed()
        .thenComparing(ServicePolicy::name));
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(ResourceNames.INGRESS).addDomains("*");
    for (ServicePolicy s : sorted) {
      host.addAllRoutes(routesOf.apply(s));
    }
    return RouteConfiguration.newBuilder().setName(ResourceNames.INGRESS).addVirtualHosts(host).build();
  }

  /** One service's routes in Envoy's ingress, under its path prefix. */
  static List<Route> envoyServiceRoutes(ServicePolicy service, MeshPolicy policy, List<MeshEndpoint> endpoints) {
    return serviceRoutes(service, service.pathPrefix(), policy, endpoints, DataPlane.ENVOY);
  }

  /** A proxyless client's routes for one gRPC service (any path on that channel). */
  static RouteConfiguration grpcService(ServicePolicy service, MeshPolicy policy, List<MeshEndpoint> endpoints) {
    String name = ResourceNames.grpcListener(service.name());
    return RouteConfiguration.newBuilder()
        .setName(name)
        .addVirtualHosts(VirtualHost.newBuilder()
            .setName(name)
            .addDomains("*")
            .addAllRoutes(serviceRoutes(service, "/", policy, endpoints, DataPlane.GRPC)))
        .build();
  }

  /** Every version a service has a cluster for: declared, discovered, and the shadow target. */
  static Set<String> versions(ServicePolicy service, Set<String> discovered) {
    Set<String> versions = new TreeSet<>(discovered);
    service.versions().forEach(v -> versions.add(v.version()));
    service.shadow().ifPresent(s -> versions.add(s.version()));
    return versions;
  }

  private static List<Route> serviceRoutes(ServicePolicy service, String prefix, MeshPolicy policy,
      List<MeshEndpoint> endpoints, DataPlane plane) {
    Set<String> discovered = new TreeSet<>();
    endpoints.forEach(e -> discovered.add(e.version()));
    List<Route> routes = new ArrayList<>();
    for (String version : versions(service, discovered)) {
      routes.add(Route.newBuilder()
          .setName(service.name() + "/pin/" + version)
          .setMatch(RouteMatch.newBuilder()
              .setPrefix(prefix)
              .addHeaders(HeaderMatcher.newBuilder()
                  .setName(service.pinHeader())
                  .setStringMatch(StringMatcher.newBuilder().setExact(version))))
          .setRoute(action(service, policy, plane)
              .setCluster(ResourceNames.cluster(service.name(), version)))
          .build());
    }
    RouteAction.Builder split = action(service, policy, plane);
    List<VersionWeight> live = liveWeights(service, endpoints);
    if (live.isEmpty()) {
      split.setCluster(ResourceNames.cluster(service.name()));
    } else if (live.size() == 1) {
      split.setCluster(ResourceNames.cluster(service.name(), live.get(0).version()));
    } else {
      WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
      for (VersionWeight v : live) {
        weighted.addClusters(WeightedCluster.ClusterWeight.newBuilder()
            .setName(ResourceNames.cluster(service.name(), v.version()))
            .setWeight(UInt32Value.of(v.weight())));
      }
      split.setWeightedClusters(weighted);
    }
    if (plane == DataPlane.ENVOY) {
      service.shadow().ifPresent(shadow -> split.addRequestMirrorPolicies(
          RouteAction.RequestMirrorPolicy.newBuilder()
              .setCluster(ResourceNames.cluster(service.name(), shadow.version()))
              .setRuntimeFraction(RuntimeFractionalPercent.newBuilder()
                  .setDefaultValue(FractionalPercent.newBuilder()
                      .setNumerator(shadow.perTenThousand())
                      .setDenominator(FractionalPercent.DenominatorType.TEN_THOUSAND)))));
    }
    routes.add(Route.newBuilder()
        .setName(service.name() + "/default")
        .setMatch(RouteMatch.newBuilder().setPrefix(prefix))
        .setRoute(split)
        .build());
    return routes;
  }

  /**
   * The canary weights of the versions that can serve now: weight &gt; 0 and at least one healthy
   * endpoint. A canary whose endpoints are all down gets no traffic.
   */
  static List<VersionWeight> liveWeights(ServicePolicy service, List<MeshEndpoint> endpoints) {
    Set<String> serving = new HashSet<>();
    for (MeshEndpoint e : endpoints) {
      if (e.health().serving()) {
        serving.add(e.version());
      }
    }
    List<VersionWeight> live = new ArrayList<>();
    for (VersionWeight v : service.versions()) {
      if (v.weight() > 0 && serving.contains(v.version())) {
        live.add(v);
      }
    }
    return live;
  }

  private static RouteAction.Builder action(ServicePolicy service, MeshPolicy policy, DataPlane plane) {
    RouteAction.Builder action = RouteAction.newBuilder();
    UpstreamPolicy.RetrySettings retries = policy.upstream().retries();
    List<String> retryOn = plane == DataPlane.ENVOY ? retries.retryOn() : retries.grpcRetryOn();
    if (!retryOn.isEmpty() && retries.numRetries() > 0) {
      RetryPolicy.Builder retry = RetryPolicy.newBuilder()
          .setRetryOn(String.join(",", retryOn))
          .setNumRetries(UInt32Value.of(retries.numRetries()))
          .setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder()
              .setBaseInterval(XdsProtos.duration(retries.baseInterval()))
              .setMaxInterval(XdsProtos.duration(retries.maxInterval())));
      if (plane == DataPlane.ENVOY) {
        retry.addRetryHostPredicate(RetryPolicy.RetryHostPredicate.newBuilder()
                .setName(PREVIOUS_HOSTS)
                .setTypedConfig(Any.pack(PreviousHostsPredicate.getDefaultInstance())))
            .setHostSelectionRetryMaxAttempts(3);
      }
      action.setRetryPolicy(retry);
    }
    if (plane == DataPlane.ENVOY) {
      action.setTimeout(XdsProtos.duration(service.requestTimeout()));
    }
    return action;
  }
}
