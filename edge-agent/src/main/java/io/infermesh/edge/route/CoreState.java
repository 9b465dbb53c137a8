package io.infermesh.edge.route;

/** Whether the core can take an escalation now, as the escalation client sees it. */
public enum CoreState {
  /** Connected (or connecting) and the circuit is closed or half-open. */
  AVAILABLE("core-available"),
  /** The connection is failing (transient failure or shut down), or no core is configured. */
  UNREACHABLE("core-unreachable"),
  /** The circuit breaker is open after recent failures. */
  CIRCUIT_OPEN("circuit-open"),
  /** No core is configured for this agent. */
  NOT_CONFIGURED("no-core");

  private final String reason;

  CoreState(String reason) {
    this.reason = reason;
  }

  /** The route reason used when this state forces a request back to the edge. */
  public String reason() {
    return reason;
  }
}
