package io.infermesh.xds.server;

import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * What {@link NodeTracker} learned about the request being handled, for {@link NackAwareWatcher}
 * to use a moment later on the same thread. java-control-plane handles one request by running the
 * callbacks and then creating the watch, synchronously, on the stream's thread; a thread-local is
 * the only way to pass the stream's node (gRPC clients send it on a stream's first request only)
 * and the version a NACK rejected from one to the other.
 *
 * @param node the stream's node, from its first request
 * @param rejectedVersion the version a NACK in this request rejected; null if not a NACK
 */
record StreamContext(Node node, String rejectedVersion) {

  private static final ThreadLocal<StreamContext> CURRENT = new ThreadLocal<>();

  static void set(StreamContext context) {
    CURRENT.set(context);
  }

  /** Returns and clears the context of the request being handled; null if none. */
  static StreamContext take() {
    StreamContext c = CURRENT.get();
    CURRENT.remove();
    return c;
  }
}
