package io.infermesh.edge.escalate;

import static java.util.Objects.requireNonNull;

import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ListModelsResponse;
import io.infermesh.api.v1.ModelInfo;
import io.infermesh.edge.serve.RemoteModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the core serves, from its {@code ListModels}, kept for {@link #MAX_AGE_NANOS} and refreshed
 * in the background: the request path ({@link #names()}) never waits for the core, {@code
 * /v1/models} ({@link #models()}) waits at most {@link #WAIT_SECONDS} for a fresh list. A failed
 * refresh keeps the last list (the core may be down for a moment; its models are still its models).
 * Thread-safe.
 */
final class CoreCatalog {
  private static final Logger log = LoggerFactory.getLogger(CoreCatalog.class);
  static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(10);
  static final long WAIT_SECONDS = 2;

  private final InferenceGrpc.InferenceStub stub;
  private final LongSupplier nanoTime;
  private final AtomicBoolean refreshing = new AtomicBoolean();
  private volatile List<RemoteModel> models = List.of();
  private volatile Set<String> names = Set.of();
  private volatile long fetchedAt;
  private volatile boolean fetched;

  CoreCatalog(InferenceGrpc.InferenceStub stub, LongSupplier nanoTime) {
    this.stub = requireNonNull(stub, "stub");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  /** The core's model names as last known; starts a refresh when the list is stale. Never blocks. */
  Set<String> names() {
    if (stale()) {
      refresh();
    }
    return names;
  }

  /** The core's models, refreshed first when stale (waiting at most {@link #WAIT_SECONDS}). */
  List<RemoteModel> models() {
    if (stale()) {
      try {
        apply(InferenceGrpc.newBlockingStub(stub.getChannel()).withDeadlineAfter(WAIT_SECONDS, TimeUnit.SECONDS)
            .listModels(ListModelsRequest.getDefaultInstance()));
      } catch (RuntimeException e) {
        log.debug("could not list the core's models: {}", e.toString());
      }
    }
    return models;
  }

  private boolean stale() {
    return !fetched || nanoTime.getAsLong() - fetchedAt > MAX_AGE_NANOS;
  }

  private void refresh() {
    if (!refreshing.compareAndSet(false, true)) {
      return;
    }
    stub.withDeadlineAfter(WAIT_SECONDS, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance(),
        new StreamObserver<>() {
          @Override
          public void onNext(ListModelsResponse value) {
            apply(value);
          }

          @Override
          public void onError(Throwable t) {
            refreshing.set(false);
            log.debug("could not list the core's models: {}", t.toString());
          }

          @Override
          public void onCompleted() {
            refreshing.set(false);
          }
        });
  }

  private void apply(ListModelsResponse response) {
    List<RemoteModel> list = new ArrayList<>();
    for (ModelInfo m : response.getModelsList()) {
      list.add(new RemoteModel(m.getName(), m.getVersion(), m.getContextLength()));
    }
    models = List.copyOf(list);
    names = list.stream().map(RemoteModel::name).collect(Collectors.toUnmodifiableSet());
    fetchedAt = nanoTime.getAsLong();
    fetched = true;
  }
}
