package io.infermesh.xds.snapshot;

import java.util.Locale;

/** What a service speaks upstream; decides Envoy's HTTP/2 settings and health checks. */
public enum Protocol {
  /** gRPC over HTTP/2; proxyless clients get a listener for it; health via {@code grpc.health.v1}. */
  GRPC,
  /** Plain HTTP/1.1 (the edge's OpenAI API); Envoy only; health via {@code GET /healthz}. */
  HTTP;

  public static Protocol parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("protocol must be grpc or http, was '" + text + "'");
    }
  }
}
