package io.infermesh.xds.snapshot;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;

/**
 * Builds CDS clusters. Both data planes get an EDS cluster over ADS with the load-balancing
 * policy, outlier detection and circuit breakers; Envoy also gets locality-weighted balancing,
 * HTTP/2 for gRPC services, active health checks and an mTLS transport socket whose certificate
 * and trust bundle come over SDS and whose peer must present the service's SPIFFE role. Stateless.
 */
final class ClusterResources {

  static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
  static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private ClusterResources() {}

  /**
   * A service's clusters for one data plane, which differ only in their names: built once without
   * a name, then named. A named cluster's digest is a SHA-256 over its type, its name and the
   * unnamed cluster's digest, so it changes exactly when the cluster does. Immutable.
   */
  static final class Named {

    private final Cluster unnamed;
    private final byte[] digest;

    private Named(Cluster unnamed) {
      this.unnamed = unnamed;
      this.digest = ResourceVersions.digest(unnamed);
    }

    Versioned<Cluster> cluster(String name) {
      MessageDigest named = ResourceVersions.sha256();
      named.update(Cluster.getDescriptor().getFullName().getBytes(StandardCharsets.UTF_8));
      named.update((byte) 0);
      named.update(name.getBytes(StandardCharsets.UTF_8));
      named.update((byte) 0);
      named.update(digest);
      return Versioned.of(unnamed.toBuilder().setName(name).build(), named.digest());
    }
  }

  /**
   * The unnamed clusters under one mesh-wide policy. A cluster depends on its service only
   * through the service's protocol and server role, so services that share those share one
   * unnamed cluster (and its digest). Confined with the builder that owns it, except that once
   * {@link #prepare}d for every service being built, several threads may read it.
   */
  static final class Templates {

    private record Key(Protocol protocol, String serverRole, DataPlane plane) {}

    private final MeshPolicy policy;
    private final Map<Key, Named> named = new HashMap<>();

    /** Only {@code policy}'s mesh-wide parts (upstream, trust domain, mTLS) are read. */
    Templates(MeshPolicy policy) {
      this.policy = policy;
    }

    /** Builds the templates {@code service} needs, so that building it only reads them (several threads may). */
    void prepare(ServicePolicy service) {
      of(service, DataPlane.ENVOY);
      if (service.protocol() == Protocol.GRPC) {
        of(service, DataPlane.GRPC);
      }
    }

    Named of(ServicePolicy service, DataPlane plane) {
      Key key = new Key(service.protocol(), service.serverRole(), plane);
      Named template = named.get(key); // a plain read when prepared: several threads may be here
      if (template == null) {
        template = new Named(cluster("", key.protocol(), key.serverRole(), policy, key.plane()));
        named.put(key, template);
      }
      return template;
    }
  }

  static Cluster cluster(String name, Protocol protocol, String serverRole, MeshPolicy policy, DataPlane plane) {
    UpstreamPolicy up = policy.upstream();
    Cluster.Builder cluster = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(XdsProtos.ads()))
        .setConnectTimeout(XdsProtos.duration(up.connectTimeout()))
        .setLbPolicy(switch (up.lbPolicy()) {
          case ROUND_ROBIN -> Cluster.LbPolicy.ROUND_ROBIN;
          case LEAST_REQUEST -> Cluster.LbPolicy.LEAST_REQUEST;
        })
        .setCircuitBreakers(circuitBreakers(up.circuitBreakers()));
    if (plane == DataPlane.ENVOY || up.outlier().proxyless()) {
      cluster.setOutlierDetection(outlierDetection(up.outlier()));
    }
    if (plane == DataPlane.ENVOY) {
      cluster.setCommonLbConfig(Cluster.CommonLbConfig.newBuilder()
          .setLocalityWeightedLbConfig(Cluster.CommonLbConfig.LocalityWeightedLbConfig.getDefaultInstance()));
      cluster.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(protocolOptions(protocol)));
      if (up.healthChecks().enabled()) {
        cluster.addHealthChecks(healthCheck(protocol, up.healthChecks()));
      }
      if (policy.mtls()) {
        cluster.setTransportSocket(upstreamTls(protocol, serverRole, policy.trustDomain()));
      }
    }
    return cluster.build();
  }

  private static OutlierDetection outlierDetection(UpstreamPolicy.OutlierSettings o) {
    return OutlierDetection.newBuilder()
        .setConsecutive5Xx(UInt32Value.of(o.consecutive5xx()))
        .setInterval(XdsProtos.duration(o.interval()))
        .setBaseEjectionTime(XdsProtos.duration(o.baseEjectionTime()))
        .setMaxEjectionPercent(UInt32Value.of(o.maxEjectionPercent()))
        .setFailurePercentageThreshold(UInt32Value.of(o.failurePercentageThreshold()))
        .setEnforcingFailurePercentage(UInt32Value.of(100))
        .setFailurePercentageMinimumHosts(UInt32Value.of(o.failurePercentageMinimumHosts()))
        .setFailurePercentageRequestVolume(UInt32Value.of(o.failurePercentageRequestVolume()))
        .build();
  }

  private static CircuitBreakers circuitBreakers(UpstreamPolicy.CircuitBreakerSettings c) {
    return CircuitBreakers.newBuilder()
        .addThresholds(CircuitBreakers.Thresholds.newBuilder()
            .setPriority(RoutingPriority.DEFAULT)
            .setMaxConnections(UInt32Value.of(c.maxConnections()))
            .setMaxPendingRequests(UInt32Value.of(c.maxPendingRequests()))
            .setMaxRequests(UInt32Value.of(c.maxRequests()))
            .setMaxRetries(UInt32Value.of(c.maxRetries())))
        .build();
  }

  private static HttpProtocolOptions protocolOptions(Protocol protocol) {
    HttpProtocolOptions.ExplicitHttpConfig.Builder explicit = HttpProtocolOptions.ExplicitHttpConfig.newBuilder();
    if (protocol == Protocol.GRPC) {
      explicit.setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance());
    } else {
      explicit.setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance());
    }
    return HttpProtocolOptions.newBuilder().setExplicitHttpConfig(explicit).build();
  }

  private static HealthCheck healthCheck(Protocol protocol, UpstreamPolicy.HealthCheckSettings h) {
    HealthCheck.Builder check = HealthCheck.newBuilder()
        .setTimeout(XdsProtos.duration(h.timeout()))
        .setInterval(XdsProtos.duration(h.interval()))
        .setUnhealthyThreshold(UInt32Value.of(h.unhealthyThreshold()))
        .setHealthyThreshold(UInt32Value.of(h.healthyThreshold()));
    if (protocol == Protocol.GRPC) {
      check.setGrpcHealthCheck(HealthCheck.GrpcHealthCheck.getDefaultInstance());
    } else {
      check.setHttpHealthCheck(HealthCheck.HttpHealthCheck.newBuilder().setPath("/healthz"));
    }
    return check.build();
  }

  /** mTLS to the upstream: our identity and the CA from SDS; the peer must hold the service's role. */
  private static TransportSocket upstreamTls(Protocol protocol, String serverRole, String trustDomain) {
    // trust domain and role are DNS names (validated): escaping the dots is enough
    String sanRegex = "^spiffe://" + trustDomain.replace(".", "\\.") + "/[^/]+/"
        + serverRole + "/[^/]+$";
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(sds(ResourceNames.IDENTITY_SECRET))
        .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
            .setDefaultValidationContext(CertificateValidationContext.newBuilder()
                .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                    .setSanType(SubjectAltNameMatcher.SanType.URI)
                    .setMatcher(StringMatcher.newBuilder()
                        .setSafeRegex(RegexMatcher.newBuilder().setRegex(sanRegex)))))
            .setValidationContextSdsSecretConfig(sds(ResourceNames.TRUST_BUNDLE_SECRET)));
    if (protocol == Protocol.GRPC) {
      common.addAlpnProtocols("h2");
    }
    return TransportSocket.newBuilder()
        .setName(TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(common).build()))
        .build();
  }

  static SdsSecretConfig sds(String name) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(XdsProtos.ads()).build();
  }
}
