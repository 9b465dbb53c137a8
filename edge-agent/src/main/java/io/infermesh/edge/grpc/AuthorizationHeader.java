package io.infermesh.edge.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Puts the caller's {@code authorization} metadata (an API key as {@code Bearer <key>}) into the
 * call's {@link Context}, where the service authenticates it. Stateless; thread-safe.
 */
final class AuthorizationHeader implements ServerInterceptor {
  static final Context.Key<String> VALUE = Context.key("infermesh-authorization");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String value = headers.get(AUTHORIZATION);
    if (value == null) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(VALUE, value), call, headers, next);
  }
}
