package io.infermesh.edge.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.VersionPin;
import io.infermesh.node.grpc.VersionPinHeader;
import java.util.List;

/**
 * Refuses calls that carry {@code x-infermesh-*} metadata other than the version pin. The gRPC API
 * takes routing hints in {@code GenerateRequest.hints} (and the budget as the call's deadline); a
 * caller who sends the HTTP headers as metadata expects them to work, and ignoring {@code
 * x-infermesh-privacy} would let the prompt leave the edge, so the call fails closed with
 * INVALID_ARGUMENT naming the key. {@code x-infermesh-model-version} is the one exception: it is
 * the header proxies and the control plane's routes match on, so it is accepted as metadata too
 * (checked by {@link VersionPin#check}, sent once) and handed to the service as {@link #PIN}.
 * Stateless; thread-safe.
 */
final class InfermeshMetadata implements ServerInterceptor {
  private static final String PREFIX = "x-infermesh-";
  /** The call's {@code x-infermesh-model-version} metadata, checked; null when it sent none. */
  static final Context.Key<String> PIN = Context.key(VersionPin.HEADER);

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String pin = null;
    for (String key : headers.keys()) {
      if (key.equals(VersionPin.HEADER)) {
        Iterable<String> values = headers.getAll(VersionPinHeader.KEY);
        int count = 0;
        for (String value : values == null ? List.<String>of() : values) {
          count++;
          pin = value;
        }
        try {
          if (count != 1) {
            throw EdgeException.invalid(key, key + ": send it once, got " + count + " values");
          }
          VersionPin.check(key, pin.trim());
          pin = pin.trim();
        } catch (EdgeException e) {
          call.close(Status.INVALID_ARGUMENT.withDescription(e.getMessage()), new Metadata());
          return new ServerCall.Listener<>() {};
        }
      } else if (key.startsWith(PREFIX)) {
        String shown = key.length() <= 64 ? key : key.substring(0, 64) + "…";
        call.close(Status.INVALID_ARGUMENT.withDescription(shown + ": the gRPC API takes routing hints in"
            + " GenerateRequest.hints (privacy, require, priority, model-version, reanswer) and the latency budget as the"
            + " call's deadline, not as metadata (" + VersionPin.HEADER + " is the one metadata key accepted)"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
    }
    if (pin == null) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(PIN, pin), call, headers, next);
  }
}
