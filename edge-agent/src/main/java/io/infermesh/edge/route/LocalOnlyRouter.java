package io.infermesh.edge.route;

/**
 * The router of an edge agent without a core to escalate to: every request is answered locally,
 * except one that requires the core ({@code require: core}), which is {@link Route#REFUSED} ({@code
 * core-required-not-configured}): that hint promises an answer from the core or none. The reason says
 * why: {@code privacy-local-only} for the {@code privacy: local-only} hint, {@code alias-edge} for
 * the {@code edge} alias, and {@code no-core-configured} otherwise. Stateless and thread-safe.
 */
public final class LocalOnlyRouter implements Router {
  /** The reason given when nothing more specific applies. */
  public static final String DEFAULT_REASON = "no-core-configured";
  /** The reason a request that requires the core is refused. */
  public static final String CORE_REQUIRED_REASON = "core-required-not-configured";

  @Override
  public RouteDecision decide(RouteRequest request) {
    if (request.requiresCore()) {
      return new RouteDecision(Route.REFUSED, CORE_REQUIRED_REASON);
    }
    if ("local-only".equals(request.hints().get("privacy"))) {
      return new RouteDecision(Route.EDGE, "privacy-local-only");
    }
    if ("edge".equals(request.model())) {
      return new RouteDecision(Route.EDGE, "alias-edge");
    }
    return new RouteDecision(Route.EDGE, DEFAULT_REASON);
  }

  @Override
  public String toString() {
    return "LocalOnlyRouter";
  }
}
