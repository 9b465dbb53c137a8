package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The {@link ConfigWatcher} the server sees: the snapshot cache, plus two fixes for the state-of-
 * the-world protocol as java-control-plane runs it.
 *
 * <ul>
 *   <li>Every request is answered for the stream's node, the one {@link NodeTracker} authorized:
 *       a request without a node (gRPC clients send it only on a stream's first request) lands in
 *       the right group, and one naming another node cannot reach another group.
 *   <li>A NACK carries the last <em>accepted</em> version; the cache would answer it at once with
 *       the rejected snapshot again, and the client would NACK again, in a loop. Here the watch is
 *       opened as if the client held the rejected version: nothing is resent until a newer
 *       snapshot exists, and the client keeps running its last good configuration.
 * </ul>
 *
 * <p>Thread-safe (stateless; the per-request context is thread-confined).
 */
final class NackAwareWatcher implements ConfigWatcher {

  private final ConfigWatcher delegate;

  NackAwareWatcher(ConfigWatcher delegate) {
    this.delegate = requireNonNull(delegate, "delegate");
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    StreamContext context = StreamContext.take();
    XdsRequest effective = request;
    if (context != null) {
      DiscoveryRequest v3 = request.v3Request();
      DiscoveryRequest.Builder fixed = null;
      if (context.node() != null && !context.node().equals(v3.getNode())) {
        fixed = v3.toBuilder().setNode(context.node()); // the stream's authorized node, always
      }
      if (v3.hasErrorDetail() && context.rejectedVersion() != null) {
        fixed = (fixed != null ? fixed : v3.toBuilder()).setVersionInfo(context.rejectedVersion());
      }
      if (fixed != null) {
        effective = XdsRequest.create(fixed.build());
      }
    }
    return delegate.createWatch(ads, effective, knownResourceNames, responseConsumer, hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
  }

  @Override
  public DeltaWatch createDeltaWatch(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<io.envoyproxy.controlplane.cache.DeltaResponse> responseConsumer,
      boolean hasClusterChanged) {
    StreamContext context = StreamContext.take();
    DeltaXdsRequest effective = request;
    if (context != null && context.node() != null && !context.node().equals(request.v3Request().getNode())) {
      effective = DeltaXdsRequest.create(request.v3Request().toBuilder().setNode(context.node()).build());
    }
    return delegate.createDeltaWatch(effective, requesterVersion, resourceVersions, pendingResources, isWildcard,
        responseConsumer, hasClusterChanged);
  }
}
