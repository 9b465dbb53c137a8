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

  static Cluster cluster(String name, ServicePolicy service, MeshPolicy policy, DataPlane plane) {
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
      cluster.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(protocolOptions(service)));
      if (up.healthChecks().enabled()) {
        cluster.addHealthChecks(healthCheck(service, up.healthChecks()));
      }
      if (policy.mtls()) {
        cluster.setTransportSocket(upstreamTls(service, policy.trustDomain()));
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

  private static HttpProtocolOptions protocolOptions(ServicePolicy service) {
    HttpProtocolOptions.ExplicitHttpConfig.Builder explicit = HttpProtocolOptions.ExplicitHttpConfig.newBuilder();
    if (service.protocol() == Protocol.GRPC) {
      explicit.setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance());
    } else {
      explicit.setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance());
    }
    return HttpProtocolOptions.newBuilder().setExplicitHttpConfig(explicit).build();
  }

  private static HealthCheck healthCheck(ServicePolicy service, UpstreamPolicy.HealthCheckSettings h) {
    HealthCheck.Builder check = HealthCheck.newBuilder()
        .setTimeout(XdsProtos.duration(h.timeout()))
        .setInterval(XdsProtos.duration(h.interval()))
        .setUnhealthyThreshold(UInt32Value.of(h.unhealthyThreshold()))
        .setHealthyThreshold(UInt32Value.of(h.healthyThreshold()));
    if (service.protocol() == Protocol.GRPC) {
      check.setGrpcHealthCheck(HealthCheck.GrpcHealthCheck.getDefaultInstance());
    } else {
      check.setHttpHealthCheck(HealthCheck.HttpHealthCheck.newBuilder().setPath("/healthz"));
    }
    return check.build();
  }

  /** mTLS to the upstream: our identity and the CA from SDS; the peer must hold the service's role. */
  private static TransportSocket upstreamTls(ServicePolicy service, String trustDomain) {
    // trust domain and role are DNS names (validated): escaping the dots is enough
    String sanRegex = "^spiffe://" + trustDomain.replace(".", "\\.") + "/[^/]+/"
        + service.serverRole() + "/[^/]+$";
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(sds(ResourceNames.IDENTITY_SECRET))
        .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
            .setDefaultValidationContext(CertificateValidationContext.newBuilder()
                .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                    .setSanType(SubjectAltNameMatcher.SanType.URI)
                    .setMatcher(StringMatcher.newBuilder()
                        .setSafeRegex(RegexMatcher.newBuilder().setRegex(sanRegex)))))
            .setValidationContextSdsSecretConfig(sds(ResourceNames.TRUST_BUNDLE_SECRET)));
    if (service.protocol() == Protocol.GRPC) {
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
