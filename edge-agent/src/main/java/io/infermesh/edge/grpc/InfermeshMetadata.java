package io.infermesh.edge.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Refuses calls that carry {@code x-infermesh-*} metadata. The gRPC API takes routing hints in
 * {@code GenerateRequest.hints} (and the budget as the call's deadline); a caller who sends the
 * HTTP headers as metadata expects them to work, and ignoring {@code x-infermesh-privacy} would
 * let the prompt leave the edge, so the call fails closed with INVALID_ARGUMENT naming the key.
 * Stateless; thread-safe.
 */
final class InfermeshMetadata implements ServerInterceptor {
  private static final String PREFIX = "x-infermesh-";

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    for (String key : headers.keys()) {
      if (key.startsWith(PREFIX)) {
        String shown = key.length() <= 64 ? key : key.substring(0, 64) + "…";
        call.close(Status.INVALID_ARGUMENT.withDescription(shown + ": the gRPC API takes routing hints in"
            + " GenerateRequest.hints (privacy, require, priority, reanswer) and the latency budget as the call's deadline,"
            + " not as metadata"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
    }
    return next.startCall(call, headers);
  }
}
