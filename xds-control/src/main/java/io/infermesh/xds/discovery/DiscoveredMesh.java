package io.infermesh.xds.discovery;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshState;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges several {@link EndpointSource}s into one {@link MeshState}: the union of their latest
 * lists; when two sources report the same (service, id), the source listed later wins.
 *
 * <p>Nothing reaches the listener until every source has reported once (or {@link #forceReady()}
 * is called): a control plane that restarts must not publish the static endpoints alone while
 * Consul's answer is on its way. After that, every change produces a new state. Thread-safe:
 * merges are serialized on this object.
 */
public final class DiscoveredMesh implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DiscoveredMesh.class);

  private final List<EndpointSource> sources;
  private final Consumer<MeshState> listener;
  @GuardedBy("this")
  private final Map<EndpointSource, List<MeshEndpoint>> latest = new LinkedHashMap<>();
  @GuardedBy("this")
  private final Set<EndpointSource> reported = new HashSet<>();
  @GuardedBy("this")
  private boolean ready;
  @GuardedBy("this")
  private MeshState state = MeshState.empty();
  @GuardedBy("this")
  private boolean delivered;

  public DiscoveredMesh(List<EndpointSource> sources, Consumer<MeshState> listener) {
    this.sources = List.copyOf(requireNonNull(sources, "sources"));
    this.listener = requireNonNull(listener, "listener");
    this.sources.forEach(s -> latest.put(s, List.of()));
  }

  /** Starts every source; each delivers its first list when it has one. */
  public void start() {
    for (EndpointSource source : sources) {
      source.start(list -> update(source, list));
    }
  }

  /** The merged state now. */
  public synchronized MeshState state() {
    return state;
  }

  /** Whether every source has reported at least once. */
  public synchronized boolean ready() {
    return ready;
  }

  /**
   * Delivers what is known even though some sources have not reported (they keep being merged
   * in as they do). Names the silent sources in a warning.
   */
  public synchronized void forceReady() {
    if (ready) {
      return;
    }
    List<String> silent = new ArrayList<>();
    for (EndpointSource s : sources) { // a loop, not a lambda: @GuardedBy cannot see a lambda run under the lock
      if (!reported.contains(s)) {
        silent.add(s.name());
      }
    }
    log.warn("discovery: {} have not answered yet; publishing what the other sources know", silent);
    ready = true;
    deliver(null, List.of());
  }

  private synchronized void update(EndpointSource source, List<MeshEndpoint> endpoints) {
    latest.put(source, endpoints);
    reported.add(source);
    if (!ready && reported.size() < sources.size()) {
      return;
    }
    ready = true;
    deliver(source, endpoints);
  }

  @GuardedBy("this")
  private void deliver(EndpointSource source, List<MeshEndpoint> endpoints) {
    Map<String, MeshEndpoint> merged = new LinkedHashMap<>();
    for (List<MeshEndpoint> list : latest.values()) {
      for (MeshEndpoint e : list) {
        merged.put(e.service() + "\u0000" + e.id(), e);
      }
    }
    MeshState next = MeshState.of(new ArrayList<>(merged.values()));
    if (delivered && next.equals(state)) {
      return;
    }
    log.info("discovery: {} reported {} endpoints; mesh now has {}",
        source == null ? "startup" : source.name(), endpoints.size(), next.endpoints().size());
    state = next;
    delivered = true;
    listener.accept(next);
  }

  @Override
  public void close() {
    sources.forEach(EndpointSource::close);
  }
}
