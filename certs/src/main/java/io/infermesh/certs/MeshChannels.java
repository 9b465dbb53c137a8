package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/**
 * Client channels into the mesh over mutual TLS: the channel presents this process's identity and
 * accepts only a server whose SPIFFE ID is in its trust domain and matches the {@link
 * ExpectedIdentity} (host names are not checked). A server that fails the check fails the
 * handshake, and calls fail with {@code UNAVAILABLE}. Stateless; thread-safe.
 */
public final class MeshChannels {
  private MeshChannels() {}

  /**
   * A channel builder for {@code target} (any gRPC target: {@code host:port}, {@code
   * dns:///host:port}, …), for callers that add retries, a service config or interceptors.
   */
  public static ManagedChannelBuilder<?> builder(String target, MeshTls tls, ExpectedIdentity expectedServer) {
    requireNonNull(target, "target");
    requireNonNull(tls, "tls");
    requireNonNull(expectedServer, "expectedServer");
    return Grpc.newChannelBuilder(target, tls.channelCredentials(expectedServer));
  }

  /** A channel to {@code target} that accepts only a server matching {@code expectedServer}. */
  public static ManagedChannel newChannel(String target, MeshTls tls, ExpectedIdentity expectedServer) {
    return builder(target, tls, expectedServer).build();
  }
}
