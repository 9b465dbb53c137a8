package io.infermesh.edge.escalate;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.EscalationContext;
import io.infermesh.api.v1.FunctionTool;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ResponseFormat;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ToolCallPart;
import io.infermesh.api.v1.ToolCalling;
import io.infermesh.api.v1.ToolTurn;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.ToolForm;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.RemoteModel;
import io.infermesh.edge.serve.StructuredOutput;
import io.infermesh.edge.serve.VersionPin;
import io.infermesh.edge.shadow.ShadowMirror;
import io.infermesh.models.chat.ToolCalls;
import io.infermesh.node.grpc.VersionPinHeader;
import io.infermesh.node.telemetry.Tracing;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's client of the core: grpc-java over mTLS (this edge's certificate, role {@code edge};
 * the server must present a {@code core} identity), with retries on UNAVAILABLE from the gRPC
 * service config and a resilience4j circuit breaker in front. Each escalation is a {@link
 * CoreStream} (a request for several choices: {@link CoreChoices}, one call split by choice) that
 * passes the core's chunks straight through and cancels the call when the caller
 * goes away. Thread-safe.
 *
 * <p>The target is one of: {@code host:port} (or any gRPC target such as {@code
 * dns:///host:port}); a comma-separated static list {@code a:1,b:2}, balanced round robin; or
 * {@code xds:///core-inference}, where grpc-xds takes the cores, their localities, weights, retry
 * policy and outlier detection from the control plane (its service config replaces the default one
 * below) while each call still runs over this channel's mesh mTLS with the SPIFFE check — the xDS
 * security settings are not used. See {@link XdsTargets} for the bootstrap.
 */
public final class CoreClient implements Escalator, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoreClient.class);

  private final ManagedChannel channel;
  private final Channel calls; // the channel, passing the current trace on as traceparent when tracing is on
  private final InferenceGrpc.InferenceStub stub;
  private final CircuitBreaker breaker;
  private final MeshTls tls;
  private final EdgeConfig.Node node;
  private final Escalation config;
  private final CoreCatalog catalog;
  private final ShadowMirror shadow; // null when escalation.shadow is off

  private CoreClient(ManagedChannel channel, CircuitBreaker breaker, MeshTls tls, EdgeConfig.Node node,
      Escalation config, Tracing tracing, MeterRegistry meters) {
    this.channel = channel;
    this.calls = tracing.enabled() ? ClientInterceptors.intercept(channel, tracing.clientInterceptor()) : channel;
    this.stub = InferenceGrpc.newStub(calls);
    this.shadow = config.shadow().map(s -> new ShadowMirror(s, stub, meters, () -> ThreadLocalRandom.current()
        .nextDouble())).orElse(null);
    this.breaker = breaker;
    this.tls = tls;
    this.node = node;
    this.config = config;
    this.catalog = new CoreCatalog(stub, System::nanoTime);
  }

  /**
   * A client for {@code config.target()}; connects lazily.
   *
   * @throws IOException when this edge's certificate files cannot be read
   * @throws IllegalArgumentException when no target is configured
   */
  public static CoreClient connect(Escalation config, EdgeConfig.Node node) throws IOException {
    return connect(config, node, Tracing.off(), new SimpleMeterRegistry());
  }

  /**
   * As {@link #connect(Escalation, EdgeConfig.Node)}, each call carrying the trace of the span
   * current when it starts ({@code traceparent} metadata) when {@code tracing} is on, the shadow's
   * meters ({@code escalation.shadow}) in {@code meters}.
   */
  public static CoreClient connect(Escalation config, EdgeConfig.Node node, Tracing tracing, MeterRegistry meters)
      throws IOException {
    requireNonNull(tracing, "tracing");
    requireNonNull(config, "config");
    requireNonNull(meters, "meters");
    requireNonNull(node, "node");
    String configured = config.target().orElseThrow(() -> new IllegalArgumentException("escalation.target is not set"));
    boolean xds = XdsTargets.isXds(configured);
    String via = "";
    if (xds) {
      via = " through xDS (bootstrap from " + XdsTargets.requireResolvable(configured, System.getenv(),
          System.getProperties()) + ")";
    }
    // a comma-separated list of host:port is a static set of cores, balanced round robin
    List<String> list = xds ? List.of(configured)
        : Arrays.stream(configured.split(",")).map(String::trim).filter(t -> !t.isEmpty()).toList();
    String target = list.size() > 1 ? StaticTargets.target(list) : configured;
    MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(config.tlsDir(), config.tlsName())).build();
    ManagedChannel channel = MeshChannels.builder(target, tls, ExpectedIdentity.roles(Role.CORE))
        .defaultServiceConfig(serviceConfig(config.maxAttempts(), list.size() > 1))
        .enableRetry()
        // callbacks only enqueue (CoreStream), so run them on the transport thread: one thread hop less per chunk
        .directExecutor()
        .build();
    CircuitBreaker breaker = CircuitBreaker.of("core", CircuitBreakerConfig.custom()
        .failureRateThreshold(config.failureRate())
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(config.window())
        .minimumNumberOfCalls(config.window())
        .waitDurationInOpenState(config.openFor())
        .automaticTransitionFromOpenToHalfOpenEnabled(true)
        .permittedNumberOfCallsInHalfOpenState(Math.max(1, Math.min(3, config.window())))
        .build());
    breaker.getEventPublisher().onStateTransition(e -> {
      log.info("core circuit {}", e.getStateTransition());
      reconnectAfter(e.getStateTransition().getToState(), channel);
    });
    log.info("escalating to the core at {}{} as {}", target, via, tls.identity());
    config.shadow().ifPresent(s -> log.info("mirroring {} of escalations to model version {} (at most {} at once)",
        s.fraction(), s.version(), s.maxInFlight()));
    return new CoreClient(channel, breaker, tls, node, config, tracing, meters);
  }

  /**
   * The gRPC service config: retry {@code Inference} calls that fail UNAVAILABLE before any
   * response arrived (gRPC never retries once the server has answered); with several cores,
   * balance round robin over the ready ones.
   */
  static Map<String, ?> serviceConfig(int maxAttempts, boolean balance) {
    Map<String, Object> method = new LinkedHashMap<>();
    method.put("name", List.of(Map.of("service", InferenceGrpc.SERVICE_NAME)));
    if (maxAttempts > 1) {
      method.put("retryPolicy", Map.of(
          "maxAttempts", (double) maxAttempts,
          "initialBackoff", "0.05s",
          "maxBackoff", "0.5s",
          "backoffMultiplier", 2.0,
          "retryableStatusCodes", List.of("UNAVAILABLE")));
    }
    if (balance) {
      return Map.of("methodConfig", List.of(method), "loadBalancingConfig", List.of(Map.of("round_robin", Map.of())));
    }
    return Map.of("methodConfig", List.of(method));
  }

  /**
   * Makes the calls that follow an open circuit use a new connection. A partitioned link leaves the
   * connection open but dead (nothing arrives, nothing fails until a deadline), and TCP keeps
   * retransmitting into it with a backoff that grows to tens of seconds: after the heal, the trial
   * calls of a half-open circuit would still sit on it. So when the circuit opens, the channel goes
   * idle (calls in flight carry on; the next call connects afresh), and when it half-opens, any
   * reconnect backoff is dropped so the trial calls connect at once.
   */
  static void reconnectAfter(CircuitBreaker.State to, ManagedChannel channel) {
    if (to == CircuitBreaker.State.OPEN || to == CircuitBreaker.State.FORCED_OPEN) {
      channel.enterIdle();
    } else if (to == CircuitBreaker.State.HALF_OPEN) {
      channel.resetConnectBackoff();
    }
  }

  @Override
  public CoreState state() {
    CircuitBreaker.State s = breaker.getState();
    if (s == CircuitBreaker.State.OPEN || s == CircuitBreaker.State.FORCED_OPEN) {
      return CoreState.CIRCUIT_OPEN;
    }
    ConnectivityState c = channel.getState(true);
    if (s == CircuitBreaker.State.HALF_OPEN) {
      // The half-open circuit's trial calls are what find out whether the core is back: routing
      // none to it because the channel still shows its last failure would keep it half-open for
      // good (seen after a partition healed while the channel sat in TRANSIENT_FAILURE).
      if (c == ConnectivityState.TRANSIENT_FAILURE) {
        channel.resetConnectBackoff();
      }
      return CoreState.AVAILABLE;
    }
    if (c == ConnectivityState.TRANSIENT_FAILURE || c == ConnectivityState.SHUTDOWN) {
      return CoreState.UNREACHABLE;
    }
    return CoreState.AVAILABLE;
  }

  /** The mesh certificate this client presents to the core now (it follows rotations), for metrics. */
  public X509Certificate certificate() {
    return tls.certificate();
  }

  /** This edge's mesh credentials, as the escalation channel presents them (for the certificate renewer). */
  public MeshTls tls() {
    return tls;
  }

  /** The circuit breaker's state (for metrics and tests). */
  public CircuitBreaker.State circuit() {
    return breaker.getState();
  }

  @Override
  public List<RemoteModel> coreModels() {
    return catalog.models();
  }

  @Override
  public Set<String> coreModelNames() {
    return catalog.names();
  }

  @Override
  public EmbedResult embed(EmbedCall call) {
    EmbedRequest request = EmbedRequest.newBuilder().setRequestId(call.requestId()).setTenant(call.tenant().name())
        .setModel(coreModel(call.model())).addAllInput(call.inputs()).build();
    EmbedResponse response;
    try {
      response = InferenceGrpc.newBlockingStub(calls)
          .withDeadlineAfter(call.timeout().toNanos(), TimeUnit.NANOSECONDS).embed(request);
    } catch (StatusRuntimeException e) {
      throw EscalationErrors.toEdge(e.getStatus());
    }
    List<float[]> vectors = new ArrayList<>(response.getEmbeddingsCount());
    for (var e : response.getEmbeddingsList()) {
      float[] v = new float[e.getValuesCount()];
      for (int i = 0; i < v.length; i++) {
        v[i] = e.getValues(i);
      }
      vectors.add(v);
    }
    return new EmbedResult(vectors, response.getUsage().getPromptTokens(), response.getServedBy().getModel());
  }

  @Override
  public CompletionStream escalate(Call call) {
    GenerateRequest request = toGenerateRequest(call);
    InferenceGrpc.InferenceStub pinned = pinned(stub.withDeadlineAfter(call.timeout().toNanos(), TimeUnit.NANOSECONDS),
        call.request().hints().get(VersionPin.HINT));
    if (request.getN() > 1) {
      return CoreChoices.start(pinned, request, call, breaker, config.fallback() ? call.fallback() : null);
    }
    CoreStream stream = new CoreStream(call, breaker, config.fallback() ? call.fallback() : null);
    stream.start(pinned, request);
    // a pinned request already names its version: mirroring it to another would contradict the pin
    boolean mirror = shadow != null && call.request().hints().get(VersionPin.HINT) == null;
    return mirror ? shadow.mirror(request, call.timeout(), stream) : stream;
  }

  /**
   * {@code stub} sending the caller's version pin as {@code x-infermesh-model-version} metadata,
   * the header the control plane's routes send to that version's cluster (and the core checks, as
   * it checks the {@code model-version} hint the request carries too); {@code stub} when unpinned.
   */
  static InferenceGrpc.InferenceStub pinned(InferenceGrpc.InferenceStub stub, String pin) {
    if (pin == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(VersionPinHeader.KEY, pin);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** The request {@link #escalate} sends for {@code call}: what a deferred re-answer keeps on disk. */
  public GenerateRequest wireRequest(Call call) {
    return toGenerateRequest(call);
  }

  /**
   * Sends {@code request} once, outside the circuit breaker, and returns its chunks as they arrive
   * (a deferred re-answer's replay, on the replayer's own thread).
   *
   * @throws StatusRuntimeException as the call fails, from the iterator too
   */
  public Iterator<GenerateChunk> generate(GenerateRequest request, Duration timeout) {
    return InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
        .generate(request);
  }

  /** Makes the next call connect at once instead of after the reconnect backoff (a replayer probing for the core). */
  public void reconnectNow() {
    channel.resetConnectBackoff();
  }

  GenerateRequest toGenerateRequest(Call call) {
    var r = call.request();
    var s = call.sampling();
    SamplingParams.Builder sampling = SamplingParams.newBuilder()
        .setMaxTokens(s.maxTokens())
        .setTemperature(s.temperature())
        .setTopP(s.topP())
        .setTopK(s.topK())
        .addAllStop(s.stop());
    s.seed().ifPresent(sampling::setSeed);
    if (s.penalties().active()) {
      sampling.setPresencePenalty(s.penalties().presence()).setFrequencyPenalty(s.penalties().frequency())
          .putAllLogitBias(s.penalties().logitBias());
    }
    Integer topLogprobs = r.sampling().topLogprobs();
    if (topLogprobs != null) {
      sampling.setLogprobs(true).setTopLogprobs(topLogprobs);
    }
    GenerateRequest.Builder b = GenerateRequest.newBuilder()
        .setRequestId(call.requestId())
        .setTenant(call.tenant().name())
        .setModel(coreModel(r.model()))
        .setSampling(sampling)
        .putAllHints(r.hints())
        .setPriority(wirePriority(r.hints().get("priority")))
        .setN(r.choices() > 1 ? r.choices() : 0)
        .setEscalation(EscalationContext.newBuilder()
            .setEdgeId(tls.identity().toString())
            .setEdgeRegion(node.region())
            .setReason(call.decision().reason())
            .setLocalDraft(call.localDraft())
            .setAttempt(1));
    structured(r.structured(), b);
    if (r.operation() == Operation.CHAT) {
      ChatMessages.Builder chat = ChatMessages.newBuilder();
      for (ChatMessage m : r.messages()) {
        io.infermesh.api.v1.ChatMessage.Builder cm = io.infermesh.api.v1.ChatMessage.newBuilder()
            .setRole(m.role().wireName()).setContent(m.content());
        if (m.name() != null) {
          cm.setName(m.name());
        }
        m.toolForm().ifPresent(f -> cm.setToolTurn(toolTurn(f)));
        chat.addMessages(cm);
      }
      b.setChat(chat);
    } else {
      b.setPrompt(r.prompt());
    }
    return b.build();
  }

  /** A turn that involves tools as sent, for a core whose model renders tools with its own template. */
  private static ToolTurn toolTurn(ToolForm form) {
    ToolTurn.Builder t = ToolTurn.newBuilder().addAllTools(form.tools());
    form.turn().ifPresent(turn -> {
      t.setRole(turn.role()).setContent(turn.content()).setToolCallId(turn.toolCallId());
      for (ToolCalls.Call c : turn.toolCalls()) {
        t.addToolCalls(ToolCallPart.newBuilder().setId(c.id()).setName(c.name()).setArguments(c.arguments()));
      }
    });
    return t.build();
  }

  /** The answer's form on the wire: {@code response_format} for JSON, {@code tool_calling} for tools. */
  private static void structured(StructuredOutput s, GenerateRequest.Builder b) {
    switch (s.format()) {
      case JSON_OBJECT -> b.setResponseFormat(ResponseFormat.newBuilder().setJsonObject(true));
      case JSON_SCHEMA -> b.setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(s.schemaJson()));
      case TOOL_CALLS -> {
        StructuredOutput.Tools t = s.tools().orElseThrow();
        ToolCalling.Builder tc = ToolCalling.newBuilder().setChoice(t.choice()).setParallel(t.parallel());
        for (StructuredOutput.Function f : t.functions()) {
          tc.addFunctions(FunctionTool.newBuilder().setName(f.name()).setParametersJson(f.parametersJson()));
        }
        b.setToolCalling(tc);
      }
      default -> { }
    }
  }

  /** The model the core is asked for: aliases other than a core model name become {@code auto}. */
  private static String coreModel(String requested) {
    return switch (requested) {
      case "", "auto", "edge", "core" -> "auto";
      default -> requested;
    };
  }

  /** Closes the channel (calls in flight are cancelled after a short grace) and the credentials. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
        channel.shutdownNow();
        channel.awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
    tls.close();
  }

  @Override
  public String toString() {
    return "CoreClient{" + config.target().orElse("") + ", circuit=" + breaker.getState() + "}";
  }

  /** The admission class the edge gave the request (already validated), for the core's scheduler. */
  private static io.infermesh.api.v1.Priority wirePriority(String hint) {
    if (hint == null || hint.isBlank()) {
      return io.infermesh.api.v1.Priority.PRIORITY_UNSPECIFIED;
    }
    return switch (Priority.parse(hint).orElse(Priority.NORMAL)) {
      case HIGH -> io.infermesh.api.v1.Priority.PRIORITY_HIGH;
      case NORMAL -> io.infermesh.api.v1.Priority.PRIORITY_NORMAL;
      case LOW -> io.infermesh.api.v1.Priority.PRIORITY_LOW;
    };
  }
}
