package io.infermesh.xds.discovery;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import java.util.List;
import java.util.function.Consumer;

/**
 * Endpoints listed in {@code mesh.yaml} ({@code discovery.static}), delivered once at start. {@link
 * #replace} swaps the list at run time (tools and tests use it to add, remove or fail endpoints).
 * Thread-safe: deliveries are serialized on this object.
 */
public final class StaticEndpointSource implements EndpointSource {

  @GuardedBy("this")
  private List<MeshEndpoint> endpoints;
  @GuardedBy("this")
  private Consumer<List<MeshEndpoint>> listener;
  @GuardedBy("this")
  private boolean closed;

  public StaticEndpointSource(List<MeshEndpoint> endpoints) {
    this.endpoints = List.copyOf(requireNonNull(endpoints, "endpoints"));
  }

  @Override
  public String name() {
    return "static";
  }

  @Override
  public synchronized void start(Consumer<List<MeshEndpoint>> newListener) {
    requireNonNull(newListener, "listener");
    if (listener != null) {
      throw new IllegalStateException("already started");
    }
    listener = newListener;
    listener.accept(endpoints);
  }

  /** Replaces the whole list and delivers it if started. */
  public synchronized void replace(List<MeshEndpoint> newEndpoints) {
    endpoints = List.copyOf(requireNonNull(newEndpoints, "endpoints"));
    if (listener != null && !closed) {
      listener.accept(endpoints);
    }
  }

  /** The current list. */
  public synchronized List<MeshEndpoint> endpoints() {
    return endpoints;
  }

  @Override
  public synchronized void close() {
    closed = true;
  }
}
