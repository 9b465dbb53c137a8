package io.infermesh.core.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.core.status.CoreException;
import io.infermesh.node.grpc.VersionPinHeader;
import java.util.Optional;

/**
 * A caller's pin on a model version: {@code x-infermesh-model-version} metadata (the header the
 * control plane's routes send to one version's cluster) or {@code GenerateRequest.hints
 * ["model-version"]} (what an edge forwards beside the metadata). A node serves one version: a pin
 * naming another is refused with FAILED_PRECONDITION naming the version served (do not retry here;
 * the route, or the pin, must change), never served by the wrong version. A pin is 1 to 128
 * characters of {@code [A-Za-z0-9._:+-]}, sent once; metadata and hint must agree
 * (INVALID_ARGUMENT otherwise; the grammar is {@link VersionPinHeader}'s). The interceptor reads the metadata into the call's context; {@link
 * #check} is the service's test. Stateless; thread-safe.
 */
final class ModelVersionPin implements ServerInterceptor {
  static final String HEADER = VersionPinHeader.HEADER;
  static final String HINT = VersionPinHeader.HINT;
  private static final Metadata.Key<String> KEY = VersionPinHeader.KEY;
  private static final Context.Key<String> PIN = Context.key(HEADER);

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    if (!headers.containsKey(KEY)) {
      return next.startCall(call, headers);
    }
    int count = 0;
    String pin = null;
    for (String value : headers.getAll(KEY)) {
      count++;
      pin = value.trim();
    }
    String problem = count != 1 ? "send it once, got " + count + " values"
        : VersionPinHeader.wellFormed(pin) ? null : VersionPinHeader.RULE;
    if (problem != null) {
      call.close(Status.INVALID_ARGUMENT.withDescription(HEADER + ": " + problem), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(Context.current().withValue(PIN, pin), call, headers, next);
  }

  /**
   * The version {@code request} is pinned to on this call, if any.
   *
   * @throws CoreException INVALID_ARGUMENT for a malformed hint, or a hint and metadata that differ
   */
  static Optional<String> of(GenerateRequest request) {
    String metadata = PIN.get();
    String hint = request.getHintsMap().get(HINT);
    if (hint != null && !VersionPinHeader.wellFormed(hint)) {
      throw CoreException.invalidArgument("hints." + HINT, VersionPinHeader.RULE);
    }
    if (hint != null && metadata != null && !hint.equals(metadata)) {
      throw CoreException.invalidArgument(HEADER, "the metadata pins '" + metadata + "' but hints." + HINT
          + " pins '" + hint + "'; send one");
    }
    return Optional.ofNullable(metadata != null ? metadata : hint);
  }

  /**
   * Refuses {@code pin} unless it names {@code served} (or its {@code sha256:}-less form).
   *
   * @throws CoreException FAILED_PRECONDITION naming the version served
   */
  static void check(String pin, InferenceBackend.ModelRef served) {
    String version = served.version();
    boolean same = pin.equals(version) || version.startsWith("sha256:") && pin.equals(version.substring(7));
    if (!same) {
      throw CoreException.of(CoreException.Kind.FAILED_PRECONDITION, HEADER + ": this node serves version '"
          + version + "' of model " + served.name() + ", not '" + (pin.length() <= 40 ? pin : pin.substring(0, 40)
          + "…") + "'");
    }
  }
}
