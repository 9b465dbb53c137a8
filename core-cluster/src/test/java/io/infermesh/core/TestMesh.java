package io.infermesh.core;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A throw-away mesh for tests: one CA (trust domain {@code mesh.test}, region {@code test-1}),
 * credentials issued into a temp directory, and mTLS channels to servers on loopback that accept
 * only role core. Channels are closed with the mesh.
 */
public final class TestMesh implements AutoCloseable {
  private final Path root;
  private final CertificateAuthority ca;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  public TestMesh(String name) throws Exception {
    this.root = Files.createTempDirectory(name);
    this.ca = CertificateAuthority.create("mesh.test", Duration.ofDays(365), Clock.systemUTC());
  }

  /** The temp directory everything lives in. */
  public Path root() {
    return root;
  }

  /** Issues {@code name} with {@code role} into {@code root/name}. */
  public MeshCredentialFiles issue(Role role, String name) throws Exception {
    return ca.issue(LeafRequest.builder(role, "test-1", name).dnsName("localhost").ipAddress("127.0.0.1")
        .validity(Duration.ofDays(1)).build()).writeTo(root.resolve(name), true);
  }

  /** A channel to {@code localhost:port} as a fresh identity {@code name} with {@code role}. */
  /**
   * The config of a single-stage core node {@code core-0} on port 0 serving the tiny core model
   * ({@code tiny-core}, written under this mesh's root) with its certificate issued here; metrics on
   * a free loopback port.
   */
  public CoreConfig tinyCore(CoreConfig.Scheduling scheduling) throws Exception {
    issue(Role.CORE, "core-0");
    Path model = TinyModels.write(TinyModelSpec.core(GgmlType.F32), root().resolve("models"));
    return CoreConfig.builder(new CoreConfig.Node("core-0", "test-1"), new CoreConfig.Tls(root().resolve("core-0"), "core-0"))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("tiny-core").path(model).device("cpu").defaultMaxTokens(16).build())
        .scheduler(scheduling)
        .metricsPort(0)
        .build();
  }

  public ManagedChannel channel(Role role, String name, int port) throws Exception {
    MeshTls tls = MeshTls.builder(issue(role, name)).build();
    ManagedChannel ch = MeshChannels.newChannel("localhost:" + port, tls, ExpectedIdentity.roles(Role.CORE));
    closeables.add(tls);
    closeables.add(() -> ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return ch;
  }

  /** The health of {@code service} as {@code ch}'s server reports it. */
  public static ServingStatus health(ManagedChannel ch, String service) {
    return HealthGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  /** Not a protobuf encoding of anything: field 1 claims 127 bytes and one follows. */
  public static final byte[] GARBAGE = {0x0a, 0x7f, 0x01};
  /** Field 1 (a string in every request type that has one) holding invalid UTF-8. */
  public static final byte[] INVALID_UTF8 = {0x0a, 0x02, (byte) 0xc3, 0x28};

  /**
   * Sends {@code message} as is (no marshaller) to {@code fullMethodName}, half-closes, and returns
   * how the call ended.
   */
  public static Status raw(Channel ch, String fullMethodName, MethodDescriptor.MethodType type, byte[] message)
      throws Exception {
    MethodDescriptor.Marshaller<byte[]> bytes = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(InputStream stream) {
        try {
          return stream.readAllBytes();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
    MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
        .setFullMethodName(fullMethodName).setRequestMarshaller(bytes).setResponseMarshaller(bytes).build();
    ClientCall<byte[], byte[]> call = ch.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
    CompletableFuture<Status> done = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        done.complete(status);
      }
    }, new Metadata());
    call.request(16);
    call.sendMessage(message);
    call.halfClose();
    return done.get(15, TimeUnit.SECONDS);
  }

  /** An observer that feeds {@code onNext} and completes {@code outcome} with OK or the call's status. */
  public static <T> StreamObserver<T> observer(Consumer<T> onNext, CompletableFuture<Status> outcome) {
    return observer(onNext, outcome, new ArrayList<>());
  }

  /** The same, also adding the trailers of a failed call to {@code trailers} (under its lock). */
  public static <T> StreamObserver<T> observer(Consumer<T> onNext, CompletableFuture<Status> outcome,
      List<Metadata> trailers) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        onNext.accept(value);
      }

      @Override
      public void onError(Throwable t) {
        Metadata m = Status.trailersFromThrowable(t);
        if (m != null) {
          synchronized (trailers) {
            trailers.add(m);
          }
        }
        outcome.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        outcome.complete(Status.OK);
      }
    };
  }

  @Override
  public void close() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }
}
