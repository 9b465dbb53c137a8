package io.infermesh.edge.shadow;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.certs.TestPki;

/**
 * A real mTLS gRPC core (role core, edges allowed) that hands each {@code Generate} call to a
 * handler together with the call's pin header ({@code x-infermesh-model-version}, null when
 * unpinned): it routes by the pin the way the control plane's pin routes do.
 */
final class PinRoutingCore implements AutoCloseable {

  /** What the core does with one call. */
  interface Handler {
    void generate(GenerateRequest request, String pin, StreamObserver<GenerateChunk> out);
  }

  private static final Context.Key<String> PINNED = Context.key("pinned");

  private final MeshServer server;

  PinRoutingCore(TestPki pki, Handler handler) throws Exception {
    ServerInterceptor pinReader = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        return Contexts.interceptCall(Context.current().withValue(PINNED, headers.get(ShadowMirror.PIN)), call,
            headers, next);
      }
    };
    server = MeshServer.builder(0)
        .credentials(pki.issue(Role.CORE, "core-0"))
        .authorization(RoleAuthorizationPolicy.builder().allow(InferenceGrpc.SERVICE_NAME, Role.EDGE).build())
        .addService(ServerInterceptors.intercept(new InferenceGrpc.InferenceImplBase() {
          @Override
          public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
            handler.generate(request, PINNED.get(), out);
          }
        }, pinReader))
        .start();
  }

  /** Answers {@code text} in one chunk, then finish STOP. */
  static void answer(StreamObserver<GenerateChunk> out, String text) {
    out.onNext(GenerateChunk.newBuilder().setText(text).build());
    out.onNext(GenerateChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP).build());
    out.onCompleted();
  }

  /** Its {@code host:port} target. */
  String target() {
    return "127.0.0.1:" + server.port();
  }

  @Override
  public void close() {
    server.close();
  }
}
