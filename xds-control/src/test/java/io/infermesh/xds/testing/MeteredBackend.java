package io.infermesh.xds.testing;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in core node: a real gRPC server answering {@code Inference.Generate} (well, with a
 * failure, or with a late first token) and a real HTTP {@code /metrics} with a real Micrometer
 * Prometheus registry, whose meters are declared as the core's {@code CoreMetrics} declares them
 * ({@code gen_ai.server.request.duration} with {@code finish} and {@code model_version}, {@code
 * gen_ai.server.time_to_first_token} with {@code model_version} and its histogram). Both on
 * 127.0.0.1, port 0.
 */
public final class MeteredBackend implements AutoCloseable {

  /** How the node answers. */
  public enum Behaviour {
    /** One chunk at once, finish stop. */
    HEALTHY,
    /** INTERNAL, counted as {@code finish="failed"}. */
    FAILING,
    /** The one chunk after {@link #SLOW_FIRST_TOKEN}. */
    SLOW
  }

  /** The first-token delay of a {@link Behaviour#SLOW} node. */
  public static final Duration SLOW_FIRST_TOKEN = Duration.ofSeconds(1);

  private final String name;
  private final String version;
  private final Behaviour behaviour;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final Server grpc;
  private final HttpServer http;
  private final MeshEndpoint endpoint;

  private MeteredBackend(String service, String name, String region, String version, Behaviour behaviour)
      throws IOException {
    this.name = name;
    this.version = version;
    this.behaviour = behaviour;
    this.grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new Inference()).build().start();
    this.http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    http.createContext("/metrics", exchange -> {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
    this.endpoint = MeshEndpoint.builder(service, "127.0.0.1", grpc.getPort(), region).id(name).version(version)
        .metricsPort(http.getAddress().getPort()).build();
  }

  /** Starts node {@code name} of {@code service} serving {@code version}. */
  public static MeteredBackend start(String service, String name, String region, String version,
      Behaviour behaviour) throws IOException {
    return new MeteredBackend(service, name, region, version, behaviour);
  }

  /** What discovery reports for it, with its metrics port. */
  public MeshEndpoint endpoint() {
    return endpoint;
  }

  public String name() {
    return name;
  }

  private void ended(String finish, long startNanos) {
    Timer.builder("gen_ai.server.request.duration").tags("priority", "normal", "finish", finish,
        "model_version", version).register(registry).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  private void firstToken(long startNanos) {
    Timer.builder("gen_ai.server.time_to_first_token").tag("model_version", version)
        .publishPercentiles(0.5, 0.95).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  private final class Inference extends InferenceGrpc.InferenceImplBase {
    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
      long start = System.nanoTime();
      switch (behaviour) {
        case FAILING -> {
          ended("failed", start);
          out.onError(Status.INTERNAL.withDescription(name + " is broken").asRuntimeException());
        }
        case SLOW -> timers.schedule(() -> answer(request, out, start), SLOW_FIRST_TOKEN.toNanos(),
            TimeUnit.NANOSECONDS);
        case HEALTHY -> answer(request, out, start);
        default -> throw new IllegalStateException(behaviour.name());
      }
    }

    private void answer(GenerateRequest request, StreamObserver<GenerateChunk> out, long start) {
      firstToken(start);
      out.onNext(GenerateChunk.newBuilder()
          .setRequestId(request.getRequestId())
          .setText("hello from " + name)
          .setFinishReason(FinishReason.FINISH_REASON_STOP)
          .setServedBy(ServedBy.newBuilder().setNodeId(name).setModelVersion(version))
          .build());
      out.onCompleted();
      ended("stop", start);
    }
  }

  @Override
  public void close() {
    grpc.shutdownNow();
    http.stop(0);
    timers.shutdownNow();
    try {
      grpc.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
