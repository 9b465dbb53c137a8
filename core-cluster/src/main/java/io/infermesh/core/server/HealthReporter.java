package io.infermesh.core.server;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.infermesh.certs.MeshServer;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Keeps a node's health in step with whether it can answer: {@link #update()} re-reads the
 * condition and reports SERVING or NOT_SERVING for the node's service and for the whole server
 * ({@code ""}). Called whenever an input changes (a model loads, a pipeline link goes up or down);
 * each update then runs the {@linkplain #onUpdate listener} (which must not block).
 * Thread-safe; updates before {@link #attach} are dropped.
 */
final class HealthReporter {
  private final String service;
  private volatile BooleanSupplier ready = () -> false;
  private volatile MeshServer server;
  private volatile Runnable listener = () -> {};

  HealthReporter(String service) {
    this.service = Objects.requireNonNull(service, "service");
  }

  /** What "serving" means for this node. */
  void readyWhen(BooleanSupplier condition) {
    this.ready = Objects.requireNonNull(condition, "condition");
    update();
  }

  /** Whether the node can answer now. */
  boolean ready() {
    return ready.getAsBoolean();
  }

  /** Runs {@code l} after every update (e.g. to tell Consul at once); it must return quickly. */
  void onUpdate(Runnable l) {
    this.listener = Objects.requireNonNull(l, "listener");
  }

  /** Starts reporting on {@code s}. */
  void attach(MeshServer s) {
    this.server = s;
    update();
  }

  synchronized void update() {
    MeshServer s = server;
    if (s == null) {
      return;
    }
    ServingStatus status = ready.getAsBoolean() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    s.health().setStatus(service, status);
    s.health().setStatus("", status);
    listener.run();
  }
}
