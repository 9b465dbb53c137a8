package io.infermesh.edge.route;

/**
 * How a request was (or will be) served; the words of the HTTP {@code x-infermesh-route} header
 * and of {@code infermesh.v1.Route}.
 */
public enum Route {
  /** The local engine, as intended. */
  EDGE("edge"),
  /** Escalated to the core cluster. */
  CORE("core"),
  /** The local engine because the core could not be used; the answer may be weaker. */
  EDGE_DEGRADED("edge-degraded"),
  /** Replayed from the response cache. */
  CACHE("cache"),
  /** Refused: the caller required the core and the core cannot be used (HTTP 503, gRPC UNAVAILABLE). */
  REFUSED("refused");

  private final String wireName;

  Route(String wireName) {
    this.wireName = wireName;
  }

  /** The header value, e.g. {@code edge-degraded}. */
  public String wireName() {
    return wireName;
  }
}
