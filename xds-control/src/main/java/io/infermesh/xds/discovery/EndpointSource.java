package io.infermesh.xds.discovery;

import io.infermesh.xds.snapshot.MeshEndpoint;
import java.util.List;
import java.util.function.Consumer;

/**
 * A source of endpoints. After {@link #start}, it hands the listener its complete current list
 * whenever that list changes (never a partial delta). A source that loses its backend keeps its
 * last good list in force: it reports nothing rather than an empty list.
 */
public interface EndpointSource extends AutoCloseable {

  /** Short name for logs and metric tags, e.g. {@code static} or {@code consul}. */
  String name();

  /**
   * Starts delivering. The listener is called from the source's own thread, one call at a time.
   *
   * @throws IllegalStateException if already started
   */
  void start(Consumer<List<MeshEndpoint>> listener);

  /** Stops delivering; idempotent. */
  @Override
  void close();
}
