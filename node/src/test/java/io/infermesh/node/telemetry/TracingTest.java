package io.infermesh.node.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.infermesh.node.testing.OtlpReceiver;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Scope;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** {@link Tracing} against a real OTLP/HTTP receiver and a real gRPC server on a loopback port. */
class TracingTest {
  private static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  };
  private static final MethodDescriptor<String, String> ECHO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Echo/Say")
      .setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();

  @Test
  void grpcCall_clientSpanCurrent_serverSpanJoinsItsTraceAndBothAreExported() throws Exception {
    AtomicReference<SpanContext> seenByHandler = new AtomicReference<>();
    try (OtlpReceiver receiver = OtlpReceiver.start();
        Tracing client = Tracing.start(TelemetryConfig.off("client").withEndpoint(receiver.tracesEndpoint())
            .withExportInterval(Duration.ofMillis(100)));
        Tracing server = Tracing.start(TelemetryConfig.off("server").withEndpoint(receiver.tracesEndpoint())
            .withExportInterval(Duration.ofMillis(100)))) {
      ServerCallHandler<String, String> echo = (call, headers) -> {
        call.request(1);
        return new ServerCall.Listener<>() {
          @Override
          public void onMessage(String message) {
            seenByHandler.set(Span.current().getSpanContext());
            call.sendHeaders(new Metadata());
            call.sendMessage(message);
            call.close(Status.OK, new Metadata());
          }
        };
      };
      ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
          .addMethod(ServerMethodDefinition.create(ECHO, echo)).build();
      Server grpc = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
          .addService(ServerInterceptors.intercept(service, server.serverInterceptor())).build().start();
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpc.getPort(),
          InsecureChannelCredentials.create()).build();
      try {
        Span parent = client.tracer().spanBuilder("escalate").setSpanKind(SpanKind.CLIENT).startSpan();
        String answer;
        try (Scope ignored = parent.makeCurrent()) {
          answer = call(ClientInterceptors.intercept(channel, client.clientInterceptor()).newCall(ECHO,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)), "hello");
        } finally {
          parent.end();
        }
        assertThat(answer).isEqualTo("hello");
        String traceId = parent.getSpanContext().getTraceId();
        assertThat(seenByHandler.get().getTraceId()).isEqualTo(traceId);

        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.trace(traceId).size() == 2);
        OtlpReceiver.Span serverSpan = receiver.named("test.Echo/Say").orElseThrow();
        assertThat(serverSpan.service()).isEqualTo("server");
        assertThat(serverSpan.kind()).isEqualTo(OtlpReceiver.KIND_SERVER);
        assertThat(serverSpan.parentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
        assertThat(serverSpan.attributes()).containsEntry("rpc.system", "grpc").containsEntry("rpc.method", "Say")
            .containsEntry("rpc.grpc.status_code", 0L);
        assertThat(receiver.named("escalate").orElseThrow().service()).isEqualTo("client");
      } finally {
        channel.shutdownNow();
        grpc.shutdownNow();
      }
    }
  }

  @Test
  void callerContext_validTraceparent_isTheParent_malformedIsIgnored() {
    Tracing off = Tracing.off();
    Map<String, String> headers = Map.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    SpanContext parent = Span.fromContext(off.callerContext(headers::get)).getSpanContext();
    assertThat(parent.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(parent.isRemote()).isTrue();

    Map<String, String> bad = Map.of("traceparent", "00-zzzz-b7ad6b7169203331-01");
    assertThat(Span.fromContext(off.callerContext(bad::get)).getSpanContext().isValid()).isFalse();
  }

  @Test
  void start_withoutEndpoint_isTheNoopAndStartsNoExporterThread() {
    Set<Thread> before = exporterThreads();
    Tracing tracing = Tracing.start(TelemetryConfig.off("edge"));
    Span span = tracing.tracer().spanBuilder("x").startSpan();
    span.end();

    assertThat(tracing).isSameAs(Tracing.off());
    assertThat(tracing.enabled()).isFalse();
    assertThat(span.getSpanContext().isValid()).isFalse();
    assertThat(exporterThreads()).isSubsetOf(before); // another test's exporter may still be winding down
    tracing.close();
  }

  private static Set<Thread> exporterThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("BatchSpanProcessor"))
        .collect(Collectors.toSet());
  }

  private static String call(ClientCall<String, String> call, String message) throws Exception {
    CompletableFuture<String> answer = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(String value) {
        answer.complete(value);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (!status.isOk()) {
          answer.completeExceptionally(status.asRuntimeException());
        }
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(message);
    call.halfClose();
    return answer.get(30, TimeUnit.SECONDS);
  }
}
