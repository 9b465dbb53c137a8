package io.infermesh.node.telemetry;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapSetter;

/**
 * Writes the trace of the span current when a call starts as {@code traceparent} (and {@code
 * tracestate}) metadata, so the server's span joins the caller's trace; writes nothing when no span
 * is current. Records no span of its own: the caller's span (the edge's escalation) is the client
 * side. Stateless; thread-safe.
 */
final class TracingClientInterceptor implements ClientInterceptor {

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
      CallOptions callOptions, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, callOptions)) {
      @Override
      public void start(Listener<RespT> responseListener, Metadata headers) {
        W3CTraceContextPropagator.getInstance().inject(Context.current(), headers, MetadataSetter.INSTANCE);
        super.start(responseListener, headers);
      }
    };
  }

  /** Writes W3C keys as ASCII metadata. */
  private enum MetadataSetter implements TextMapSetter<Metadata> {
    INSTANCE;

    @Override
    public void set(Metadata carrier, String key, String value) {
      if (carrier != null) {
        Metadata.Key<String> k = Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER);
        carrier.removeAll(k);
        carrier.put(k, value);
      }
    }
  }
}
