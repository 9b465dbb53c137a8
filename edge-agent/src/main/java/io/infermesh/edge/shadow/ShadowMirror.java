package io.infermesh.edge.shadow;

import static java.util.Objects.requireNonNull;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.edge.config.Shadow;
import io.infermesh.edge.serve.CompletionStream;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirrors a sample of escalations to the shadow version ({@code escalation.shadow}) and records how
 * far its answers agree with the caller's.
 *
 * <p>A mirrored request is the escalated {@code GenerateRequest} sent again on the same channel,
 * with the pin header {@code x-infermesh-model-version: <shadow version>}: over {@code
 * xds:///service} the control plane's per-version pin route takes it to that version's cluster
 * (whatever the canary weights), and a core reached directly sees the pin too. It is
 * fire-and-forget: started after the caller's call, never awaited by it, cancelled by nothing but
 * its own deadline (the escalation's timeout), and bounded — at most {@code max_in_flight} at once;
 * a sampled request beyond that is not mirrored and is counted as dropped. Requests for several
 * choices are not mirrored. The shadow call costs the core as much as the first: it carries the
 * same tenant, so it counts toward the tenant's core limits. Its failures stay out of the circuit
 * breaker that guards the caller's escalations.
 *
 * <p>When both the caller's answer (read to its end) and the shadow's have arrived, their {@link
 * AnswerAgreement} is recorded. Metrics, each tagged {@code version}: {@code
 * infermesh.shadow.requests{outcome}} ({@code mirrored}, {@code dropped}, {@code answered}, {@code
 * failed}), {@code infermesh.shadow.agreement.exact{match=true|false}} and the summary {@code
 * infermesh.shadow.agreement.prefix} (0..1; its mean is the mean prefix agreement), and the gauge
 * {@code infermesh.shadow.in_flight}. A caller's answer that fails or is cancelled is not compared.
 *
 * <p>Thread-safe.
 */
public final class ShadowMirror {

  /** The header that pins a model version (the control plane's {@code pin_header} default). */
  public static final Metadata.Key<String> PIN =
      Metadata.Key.of("x-infermesh-model-version", Metadata.ASCII_STRING_MARSHALLER);

  private static final Logger log = LoggerFactory.getLogger(ShadowMirror.class);

  private final Shadow config;
  private final InferenceGrpc.InferenceStub stub;
  private final DoubleSupplier sampler;
  private final Semaphore slots;
  private final Counter mirrored;
  private final Counter dropped;
  private final Counter answered;
  private final Counter failed;
  private final Counter exact;
  private final Counter differs;
  private final DistributionSummary prefix;

  /**
   * @param stub the escalation channel's stub; the pin header is added per mirrored call
   * @param sampler uniform in [0, 1): a request is mirrored when it draws below the fraction
   */
  public ShadowMirror(Shadow config, InferenceGrpc.InferenceStub stub, MeterRegistry meters, DoubleSupplier sampler) {
    this.config = requireNonNull(config, "config");
    this.sampler = requireNonNull(sampler, "sampler");
    Metadata pin = new Metadata();
    pin.put(PIN, config.version());
    this.stub = requireNonNull(stub, "stub").withInterceptors(MetadataUtils.newAttachHeadersInterceptor(pin));
    this.slots = new Semaphore(config.maxInFlight());
    String v = config.version();
    this.mirrored = outcome(meters, v, "mirrored");
    this.dropped = outcome(meters, v, "dropped");
    this.answered = outcome(meters, v, "answered");
    this.failed = outcome(meters, v, "failed");
    this.exact = Counter.builder("infermesh.shadow.agreement.exact").tags("version", v, "match", "true")
        .description("Compared shadow answers, by whether they equal the caller's").register(meters);
    this.differs = Counter.builder("infermesh.shadow.agreement.exact").tags("version", v, "match", "false")
        .description("Compared shadow answers, by whether they equal the caller's").register(meters);
    this.prefix = DistributionSummary.builder("infermesh.shadow.agreement.prefix").tag("version", v)
        .description("Word-level prefix agreement of shadow and caller answers, 0..1").register(meters);
    Gauge.builder("infermesh.shadow.in_flight", slots, s -> config.maxInFlight() - s.availablePermits())
        .tag("version", v).description("Mirrored calls running").register(meters);
  }

  private static Counter outcome(MeterRegistry meters, String version, String outcome) {
    return Counter.builder("infermesh.shadow.requests").tags("version", version, "outcome", outcome)
        .description("Escalations mirrored to the shadow version, by outcome").register(meters);
  }

  /** The shadow's settings. */
  public Shadow config() {
    return config;
  }

  /**
   * Mirrors {@code request} if it is sampled and a slot is free, and returns the caller's stream
   * to read instead of {@code primary} (the same events, its text kept for the comparison).
   * Never blocks.
   */
  public CompletionStream mirror(GenerateRequest request, Duration timeout, CompletionStream primary) {
    if (request.getN() > 1 || sampler.getAsDouble() >= config.fraction()) {
      return primary;
    }
    if (!slots.tryAcquire()) {
      dropped.increment();
      return primary;
    }
    mirrored.increment();
    CompletableFuture<String> callers = new CompletableFuture<>();
    CompletableFuture<String> shadows = new CompletableFuture<>();
    callers.thenAcceptBoth(shadows, this::compare);
    try {
      stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).generate(request, new Collect(shadows));
    } catch (RuntimeException e) {
      slots.release();
      failed.increment();
      log.warn("shadow {}: mirroring request {} failed to start", config.version(), request.getRequestId(), e);
      return primary;
    }
    return new RecordingStream(primary, callers);
  }

  private void compare(String callers, String shadows) {
    AnswerAgreement a = AnswerAgreement.of(callers, shadows);
    (a.exact() ? exact : differs).increment();
    prefix.record(a.prefix());
  }

  /** Gathers the shadow's text; frees the slot when the call ends either way. */
  private final class Collect implements StreamObserver<GenerateChunk> {
    private final CompletableFuture<String> result;
    private final StringBuilder text = new StringBuilder(); // gRPC calls an observer serially

    Collect(CompletableFuture<String> result) {
      this.result = result;
    }

    @Override
    public void onNext(GenerateChunk chunk) {
      text.append(chunk.getText());
    }

    @Override
    public void onError(Throwable t) {
      slots.release();
      failed.increment();
      Status s = Status.fromThrowable(t);
      log.debug("shadow {}: mirrored call ended {}", config.version(), s);
      result.cancel(false);
    }

    @Override
    public void onCompleted() {
      slots.release();
      answered.increment();
      result.complete(text.toString());
    }
  }
}
