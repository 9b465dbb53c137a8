package io.infermesh.xds.testing;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real gRPC server on 127.0.0.1, port 0, that answers {@code Inference.Generate} with one chunk
 * saying who it is ({@code served_by.node_id}, region, model version). Stands in for a core node.
 */
public final class TestBackend implements AutoCloseable {

  private final String name;
  private final MeshEndpoint endpoint;
  private final AtomicInteger calls = new AtomicInteger();
  private volatile Server server;

  private TestBackend(String name, String region, String zone, Tier tier, String version) throws IOException {
    this.name = name;
    this.server = start(0);
    this.endpoint = MeshEndpoint.builder("core-inference", "127.0.0.1", server.getPort(), region)
        .id(name).zone(zone).tier(tier).version(version).build();
  }

  /** Starts a backend named {@code name} in {@code region}/{@code zone}. */
  public static TestBackend start(String name, String region, String zone, Tier tier, String version)
      throws IOException {
    return new TestBackend(name, region, zone, tier, version);
  }

  private Server start(int port) throws IOException {
    HealthStatusManager health = new HealthStatusManager();
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(health.getHealthService())
        .addService(new InferenceGrpc.InferenceImplBase() {
          @Override
          public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
            calls.incrementAndGet();
            out.onNext(GenerateChunk.newBuilder()
                .setRequestId(request.getRequestId())
                .setText("hello from " + name)
                .setFinishReason(FinishReason.FINISH_REASON_STOP)
                .setServedBy(ServedBy.newBuilder()
                    .setNodeId(name)
                    .setRegion(endpoint.region())
                    .setModelVersion(endpoint.version()))
                .build());
            out.onCompleted();
          }
        })
        .build()
        .start();
  }

  public String name() {
    return name;
  }

  /** The endpoint discovery would report for this backend (healthy, idle). */
  public MeshEndpoint endpoint() {
    return endpoint;
  }

  /** Calls served so far. */
  public int calls() {
    return calls.get();
  }

  /** Stops serving now (connections are closed), as a crashed node would. */
  public void kill() {
    Server s = server;
    if (s != null) {
      s.shutdownNow();
      try {
        s.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server = null;
    }
  }

  /** Serves again on the same port after {@link #kill()}. */
  public void revive() throws IOException {
    if (server == null) {
      server = start(endpoint.port());
    }
  }

  @Override
  public void close() {
    kill();
  }

  @Override
  public String toString() {
    return name + "@" + endpoint.region() + ":" + endpoint.port();
  }
}
