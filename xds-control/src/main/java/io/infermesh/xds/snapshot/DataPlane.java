package io.infermesh.xds.snapshot;

import java.util.Locale;

/** Which kind of xDS client a node is; each gets resources shaped for what it understands. */
public enum DataPlane {
  /** An Envoy proxy: a TCP listener, SDS secrets, health checks, mirroring. */
  ENVOY,
  /** A proxyless gRPC client ({@code xds:///service}): an API listener per service, no SDS. */
  GRPC;

  /** Parses {@code envoy} or {@code grpc}, any case. */
  public static DataPlane parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("role must be envoy or grpc, was '" + text + "'");
    }
  }

  /** The lower-case name used in node metadata. */
  public String metadataName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
