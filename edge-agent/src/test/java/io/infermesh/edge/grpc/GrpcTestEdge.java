package io.infermesh.edge.grpc;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * An edge agent on the tiny model with its gRPC API over TLS (server certificate only, no API
 * keys) and a channel to it: the smallest real setup for tests of what the gRPC API accepts.
 */
final class GrpcTestEdge implements AutoCloseable {
  final EdgeAgent agent;
  final ManagedChannel channel;

  private GrpcTestEdge(EdgeAgent agent, ManagedChannel channel) {
    this.agent = agent;
    this.channel = channel;
  }

  /** Starts one, with certificates written under {@code certs}. */
  static GrpcTestEdge start(Path certs) throws IOException {
    TestPki pki = TestPki.create(certs);
    MeshCredentialFiles files = pki.issue(Role.EDGE, "edge-1");
    EdgeConfig config = TinyModel.config()
        .withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(new EdgeConfig.Tls(files.certificateChain(),
            files.privateKey(), Optional.empty(), EdgeConfig.Tls.DEFAULT_ALLOWED_ROLES))));
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
