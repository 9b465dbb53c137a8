package io.infermesh.node.grpc;

import io.grpc.Metadata;

/**
 * The gRPC trailers every mesh server speaks beyond the status itself, declared once for the edge
 * and the core (documented with the status table in {@code infermesh/v1/inference.proto}).
 */
public final class MeshTrailers {
  /**
   * With RESOURCE_EXHAUSTED: how long the caller should back off before retrying, in whole
   * milliseconds (decimal ASCII, at least 1).
   */
  public static final Metadata.Key<String> RETRY_AFTER_MS =
      Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);

  private MeshTrailers() {}
}
