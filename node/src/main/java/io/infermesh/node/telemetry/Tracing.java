package io.infermesh.node.telemetry;

import static java.util.Objects.requireNonNull;

import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One process's tracing: an OpenTelemetry SDK exporting spans over OTLP/HTTP (protobuf) in
 * batches, sampling new traces by ratio and following the caller's decision for traces it
 * continues, with W3C {@code traceparent}/{@code tracestate} as the only propagation format. Each
 * process builds its own (never the global instance): an edge and a core in one JVM keep their own
 * {@code service.name}. {@link #off()} is the OpenTelemetry no-op: no SDK, no exporter thread, and
 * spans that cost a virtual call each. Callers record spans with {@link #tracer()}; gRPC servers
 * take a caller's trace with {@link #serverInterceptor()}, clients pass theirs on with {@link
 * #clientInterceptor()}, HTTP servers with {@link #callerContext}. {@link #close()} flushes what is
 * still buffered. Thread-safe.
 */
public final class Tracing implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Tracing.class);
  /** The instrumentation scope of every infermesh span. */
  public static final String SCOPE = "io.infermesh";
  /** The W3C Trace Context headers, read from HTTP and gRPC callers. */
  public static final List<String> HEADERS = List.of("traceparent", "tracestate");
  private static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(10);
  private static final Tracing OFF = new Tracing(OpenTelemetry.noop(), null, false);

  private final OpenTelemetry openTelemetry;
  private final SdkTracerProvider provider; // null when off
  private final Tracer tracer;
  private final boolean enabled;

  private Tracing(OpenTelemetry openTelemetry, SdkTracerProvider provider, boolean enabled) {
    this.openTelemetry = openTelemetry;
    this.provider = provider;
    this.tracer = openTelemetry.getTracer(SCOPE);
    this.enabled = enabled;
  }

  /** Tracing off: the no-op tracer, nothing exported, nothing started. */
  public static Tracing off() {
    return OFF;
  }

  /**
   * Tracing as {@code config} says: {@link #off()} without an endpoint, else an SDK whose batch
   * exporter sends to {@code config.otlpEndpoint()} (its worker thread starts here).
   */
  public static Tracing start(TelemetryConfig config) {
    requireNonNull(config, "config");
    if (!config.enabled()) {
      return OFF;
    }
    OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder()
        .setEndpoint(config.otlpEndpoint().orElseThrow().toString())
        .setTimeout(FLUSH_TIMEOUT)
        .build();
    SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.create(
            Attributes.of(AttributeKey.stringKey("service.name"), config.serviceName()))))
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(config.sampleRatio())))
        .addSpanProcessor(BatchSpanProcessor.builder(exporter).setScheduleDelay(config.exportInterval()).build())
        .build();
    OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(provider)
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    log.info("tracing: {} of new traces sent as {} to {}", config.sampleRatio(), config.serviceName(),
        config.otlpEndpoint().orElseThrow());
    return new Tracing(sdk, provider, true);
  }

  /** Whether spans are recorded and exported (false for {@link #off()}). */
  public boolean enabled() {
    return enabled;
  }

  /** The tracer every span of this process comes from. */
  public Tracer tracer() {
    return tracer;
  }

  /**
   * The caller's trace from its {@code traceparent} and {@code tracestate} headers ({@code header}
   * returns a header's value or null); {@link Context#root()} when it sent none or a malformed one.
   */
  public Context callerContext(UnaryOperator<String> header) {
    return W3CTraceContextPropagator.getInstance().extract(Context.root(), header, HeaderGetter.INSTANCE);
  }

  /** Starts a server span per call, child of the caller's {@code traceparent} metadata, current while the call runs. */
  public ServerInterceptor serverInterceptor() {
    return new TracingServerInterceptor(tracer);
  }

  /** Sends the current span's trace as {@code traceparent} metadata on every call. */
  public ClientInterceptor clientInterceptor() {
    return new TracingClientInterceptor();
  }

  /** Exports what is buffered and stops the exporter; waits at most 10 s. No-op when off. */
  @Override
  public void close() {
    if (provider == null) {
      return;
    }
    CompletableResultCode done = provider.shutdown().join(FLUSH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    if (!done.isSuccess()) {
      log.warn("tracing: could not send every buffered span within {} s", FLUSH_TIMEOUT.toSeconds());
    }
  }

  @Override
  public String toString() {
    return enabled ? "Tracing{" + openTelemetry + "}" : "Tracing{off}";
  }

  /** Reads W3C headers through a lookup function. */
  private enum HeaderGetter implements TextMapGetter<UnaryOperator<String>> {
    INSTANCE;

    @Override
    public Iterable<String> keys(UnaryOperator<String> carrier) {
      return HEADERS;
    }

    @Override
    public String get(UnaryOperator<String> carrier, String key) {
      return carrier == null ? null : carrier.apply(key);
    }
  }
}
