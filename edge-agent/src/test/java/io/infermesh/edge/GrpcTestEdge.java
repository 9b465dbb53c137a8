package io.infermesh.edge;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Limits;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * An edge agent on the tiny model with its gRPC API over TLS (server certificate only, no API
 * keys) and a channel to it: the smallest real setup for tests of what the gRPC API accepts.
 */
public final class GrpcTestEdge implements AutoCloseable {
  public final EdgeAgent agent;
  public final ManagedChannel channel;

  private GrpcTestEdge(EdgeAgent agent, ManagedChannel channel) {
    this.agent = agent;
    this.channel = channel;
  }

  /** Starts one, with certificates written under {@code certs}. */
  public static GrpcTestEdge start(Path certs) throws IOException {
    return start(certs, Limits.DEFAULT);
  }

  /** Starts one with {@code limits}, with certificates written under {@code certs}. */
  public static GrpcTestEdge start(Path certs, Limits limits) throws IOException {
    return start(certs, c -> c.withLimits(limits));
  }

  /** Starts one with its configuration changed by {@code configure}, with certificates written under {@code certs}. */
  public static GrpcTestEdge start(Path certs, UnaryOperator<EdgeConfig> configure) throws IOException {
    TestPki pki = TestPki.create(certs);
    MeshCredentialFiles files = pki.issue(Role.EDGE, "edge-1");
    EdgeConfig config = TinyModel.config()
        .withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(EdgeConfig.Tls.builder(files.certificateChain(),
            files.privateKey()).build())));
    config = configure.apply(config);
    EdgeAgent agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", agent.grpcPort().getAsInt(),
        TlsChannelCredentials.newBuilder().trustManager(files.trustBundle().toFile()).build()).build();
    return new GrpcTestEdge(agent, channel);
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    agent.close();
  }
}
