package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.xds.snapshot.DataPlane;
import io.infermesh.xds.snapshot.MeshNodeGroup;
import io.infermesh.xds.snapshot.XdsGroup;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every xDS stream: which node it is, which group it gets, and per resource type what was
 * sent, accepted (ACK) and rejected (NACK, with the client's message). A NACK is logged, counted
 * ({@code infermesh.xds.nacks{type}}) and kept for the admin endpoint; {@link NackAwareWatcher}
 * then stops the rejected version from being resent.
 *
 * <p>Also authorizes what a node may claim once mTLS has authenticated it, on every request that
 * names a node (a stream's node may not change once identified):
 *
 * <ul>
 *   <li>an Envoy group that carries a gateway's certificate and key ({@link XdsGroup#identity()})
 *       only to a caller whose SPIFFE ID is exactly that identity — a gateway gets its own
 *       certificate and no other, and no other role (operator included) gets any gateway's key;
 *   <li>an Envoy group without identity (an Envoy whose {@code node.id} or region is not a SPIFFE
 *       label, on mTLS xDS) to nobody: it could only be served an Envoy that has no certificate;
 *   <li>proxyless (gRPC) groups, which carry no secrets, to edge, core, gateway and operator.
 * </ul>
 *
 * <p>A gateway whose certificate the control plane does not hold is refused with
 * FAILED_PRECONDITION naming the command that issues it. Plaintext streams (loopback only, no
 * caller) are not checked: on them no group carries an identity.
 *
 * <p>Thread-safe: java-control-plane calls it from many stream threads; per-stream state is
 * guarded by the stream object.
 */
public final class NodeTracker implements DiscoveryServerCallbacks {

  private static final Logger log = LoggerFactory.getLogger(NodeTracker.class);
  private static final int RECENT_NONCES = 16;
  private static final Set<Role> GRPC_ROLES = EnumSet.of(Role.EDGE, Role.CORE, Role.GATEWAY, Role.OPERATOR);

  private final MeshNodeGroup groups;
  private final Clock clock;
  private final Supplier<Optional<SpiffeId>> peer;
  private final MeterRegistry meters;
  private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
  private final Predicate<XdsGroup> served;

  /**
   * @param peer the authenticated caller of the current call (empty on plaintext)
   * @param served whether a snapshot exists for a group (a gateway's only once its certificate is held)
   */
  public NodeTracker(MeshNodeGroup groups, Clock clock, Supplier<Optional<SpiffeId>> peer, MeterRegistry meters,
      Predicate<XdsGroup> served) {
    this.served = requireNonNull(served, "served");
    this.groups = requireNonNull(groups, "groups");
    this.clock = requireNonNull(clock, "clock");
    this.peer = requireNonNull(peer, "peer");
    this.meters = requireNonNull(meters, "meters");
    meters.gauge("infermesh.xds.streams", streams, Map::size);
    meters.gauge("infermesh.xds.nodes.nacking", this, t -> t.nodes().stream().filter(NodeStatus::nacking).count());
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new Stream(streamId, clock.instant(), peer.get().map(SpiffeId::toString).orElse("")));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId);
  }

  private void closed(long streamId) {
    Stream s = streams.remove(streamId);
    if (s != null && s.node != null) {
      log.info("xds: stream {} of node {} ({}) closed", streamId, s.node.getId(), s.group);
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    Stream s = streams.computeIfAbsent(streamId, id -> new Stream(id, clock.instant(), ""));
    String rejected = null;
    synchronized (s) {
      if (request.hasNode()) {
        identify(s, request.getNode());
      }
      String type = typeName(request.getTypeUrl());
      TypeState t = s.types.computeIfAbsent(type, k -> {
        // both counters exist from a type's first request, at 0: a NACK alert then sees a series rise
        // instead of one appearing (which increase() would miss), and a missing series means a renamed metric
        acks(k);
        nacks(k);
        return new TypeState();
      });
      if (!request.getResponseNonce().isEmpty()) {
        String version = t.sentByNonce.get(request.getResponseNonce());
        if (request.hasErrorDetail()) {
          rejected = version;
          t.nacks++;
          t.nacked = true;
          t.lastNack = new NodeStatus.Nack(version == null ? "?" : version,
              request.getErrorDetail().getMessage(), clock.instant());
          nacks(type).increment();
          log.warn("xds: node {} ({}) NACKed {} version {}: {}; it keeps its last good version {}",
              nodeId(s), s.group, type, version, request.getErrorDetail().getMessage(),
              request.getVersionInfo().isEmpty() ? "(none)" : request.getVersionInfo());
        } else {
          t.acks++;
          t.nacked = false;
          t.ackedVersion = request.getVersionInfo();
          t.ackedAt = clock.instant();
          acks(type).increment();
        }
      }
      StreamContext.set(new StreamContext(s.node, rejected));
    }
  }

  private Counter acks(String type) {
    return Counter.builder("infermesh.xds.acks").description("Responses accepted by nodes").tag("type", type)
        .register(meters);
  }

  private Counter nacks(String type) {
    return Counter.builder("infermesh.xds.nacks").description("Responses rejected by nodes").tag("type", type)
        .register(meters);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) throws RequestException {
    Stream s = streams.computeIfAbsent(streamId, id -> new Stream(id, clock.instant(), ""));
    synchronized (s) {
      if (request.hasNode()) {
        identify(s, request.getNode());
      }
      StreamContext.set(new StreamContext(s.node, null));
    }
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    Stream s = streams.get(streamId);
    if (s == null) {
      return;
    }
    synchronized (s) {
      TypeState t = s.types.computeIfAbsent(typeName(response.getTypeUrl()), k -> new TypeState());
      t.sentVersion = response.getVersionInfo();
      t.sentByNonce.put(response.getNonce(), response.getVersionInfo());
    }
  }

  /** Every open stream's status, by node id. */
  public List<NodeStatus> nodes() {
    List<NodeStatus> out = new ArrayList<>();
    for (Stream s : streams.values()) {
      synchronized (s) {
        if (s.node == null) {
          continue;
        }
        List<NodeStatus.TypeStatus> types = new ArrayList<>();
        s.types.forEach((type, t) -> types.add(new NodeStatus.TypeStatus(type, t.sentVersion, t.ackedVersion,
            t.ackedAt, t.acks, t.nacks, t.nacked, t.lastNack)));
        types.sort(Comparator.comparing(NodeStatus.TypeStatus::type));
        out.add(new NodeStatus(s.node.getId(), s.group.toString(), s.id, s.peer, s.openedAt, types));
      }
    }
    out.sort(Comparator.comparing(NodeStatus::nodeId).thenComparing(NodeStatus::streamId));
    return out;
  }

  /** Authorizes {@code node} for the stream's caller; the first node a stream names is its node. */
  private void identify(Stream s, Node node) throws RequestException {
    XdsGroup group = groups.hash(node);
    if (s.node != null) {
      if (!group.equals(s.group)) {
        throw new RequestException(Status.INVALID_ARGUMENT.withDescription(
            "a stream's node may not change: it is " + s.group + ", this request claims " + group));
      }
      return;
    }
    Optional<SpiffeId> caller = peer.get();
    if (caller.isPresent()) {
      authorize(caller.get(), node, group);
    }
    s.node = node;
    s.group = group;
    log.info("xds: stream {} is node {} in group {}{}", s.id, node.getId(), group,
        s.peer.isEmpty() ? "" : " (" + s.peer + ")");
  }

  private void authorize(SpiffeId caller, Node node, XdsGroup group) throws RequestException {
    if (group.plane() == DataPlane.GRPC) {
      if (!GRPC_ROLES.contains(caller.role())) {
        throw new RequestException(Status.PERMISSION_DENIED.withDescription(
            "proxyless configuration is not served to role " + caller.role().pathName()));
      }
      return;
    }
    if (group.identity().isEmpty() || !group.identity().equals(caller.toString())) {
      log.warn("xds: refused Envoy node {} of {}: its configuration carries {}'s key", node.getId(), caller,
          group.identity().isEmpty() ? "(no identity)" : group.identity());
      throw new RequestException(Status.PERMISSION_DENIED.withDescription(
          "Envoy configuration carries the gateway's own certificate and key and is served only to that "
              + "gateway: an Envoy's node.id must be the name of the gateway certificate it connects with, in "
              + "its region; caller is " + caller));
    }
    if (!served.test(group)) {
      throw new RequestException(Status.FAILED_PRECONDITION.withDescription(
          "the control plane holds no certificate for " + caller + ": issue it with 'infermesh certs issue "
              + "--role gateway --region " + caller.region() + " --name " + caller.name()
              + "' into control.gateway_certificates"));
    }
  }

  private static String nodeId(Stream s) {
    return s.node == null ? "?" : s.node.getId();
  }

  private static String typeName(String typeUrl) {
    Resources.ResourceType type = Resources.TYPE_URLS_TO_RESOURCE_TYPE.get(typeUrl);
    return type == null ? typeUrl : type.name();
  }

  private static final class Stream {
    final long id;
    final Instant openedAt;
    final String peer;
    Node node;
    XdsGroup group;
    final Map<String, TypeState> types = new LinkedHashMap<>();

    Stream(long id, Instant openedAt, String peer) {
      this.id = id;
      this.openedAt = openedAt;
      this.peer = peer;
    }
  }

  private static final class TypeState {
    String sentVersion = "";
    String ackedVersion = "";
    Instant ackedAt;
    long acks;
    long nacks;
    boolean nacked;
    NodeStatus.Nack lastNack;
    final Map<String, String> sentByNonce = new LinkedHashMap<>(RECENT_NONCES * 2, 0.75f, false) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
        return size() > RECENT_NONCES;
      }
    };
  }
}
