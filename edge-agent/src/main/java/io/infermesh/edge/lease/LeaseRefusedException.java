package io.infermesh.edge.lease;

/** A lease that must not be spent from: forged, expired, another device's or another tenant's. */
public final class LeaseRefusedException extends Exception {
  private static final long serialVersionUID = 1L;

  LeaseRefusedException(String message) {
    super(message);
  }

  LeaseRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
