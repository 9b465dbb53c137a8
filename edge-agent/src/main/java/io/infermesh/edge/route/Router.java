package io.infermesh.edge.route;

/**
 * Decides where a request is answered. Policy only: implementations import no transport types and
 * are tested without sockets. Implementations must be thread-safe; {@link #decide} is called on
 * request threads and must not block.
 */
@FunctionalInterface
public interface Router {
  /** Where {@code request} goes, and why. */
  RouteDecision decide(RouteRequest request);
}
