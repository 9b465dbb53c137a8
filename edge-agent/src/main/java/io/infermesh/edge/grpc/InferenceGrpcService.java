package io.infermesh.edge.grpc;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.Embedding;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.FunctionTool;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ListModelsResponse;
import io.infermesh.api.v1.ModelInfo;
import io.infermesh.api.v1.ResponseFormat;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.ToolCalling;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.PromptException;
import io.infermesh.edge.escalate.WireLogprobs;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Embeddings;
import io.infermesh.edge.serve.ListedModel;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.RequestValidator;
import io.infermesh.edge.serve.RoutingHints;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.StructuredOutput;
import io.infermesh.edge.serve.Usage;
import io.infermesh.edge.serve.VersionPin;
import io.infermesh.models.chat.ToolCalls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code infermesh.v1.Inference} service over the shared {@link CompletionService}: the same
 * validation, limits, cache and routing as the HTTP API. {@code Generate} streams one chunk per
 * delta, {@code served_by} on the first and last chunk, finish reason and usage on the last.
 *
 * <p>The handler pulls the answer on the call's thread; it sends only while the transport is
 * ready (a slow reader slows generation instead of filling memory) and stops generation as soon
 * as the call's context is cancelled or its deadline passes. Thread-safe.
 */
final class InferenceGrpcService extends InferenceGrpc.InferenceImplBase {
  private static final Logger log = LoggerFactory.getLogger(InferenceGrpcService.class);
  private static final Pattern TENANT = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final long READY_POLL_MILLIS = 2;
  /** Longest {@code request_id}, in characters (the proto's documented limit). */
  static final int MAX_REQUEST_ID_LENGTH = 128;
  /** Longest {@code model}, in characters (the proto's documented limit). */
  static final int MAX_MODEL_LENGTH = 256;
  /** Longest {@code tenant}: a DNS label. */
  static final int MAX_TENANT_LENGTH = 63;

  private final CompletionService service;
  private final GrpcApi.NodeIdHolder nodeId;
  private final String region;

  /**
   * @param nodeId the SPIFFE ID (or name) this node reports in {@code ServedBy.node_id}
   * @param region the region it reports
   */
  InferenceGrpcService(CompletionService service, GrpcApi.NodeIdHolder nodeId, String region) {
    this.service = service;
    this.nodeId = nodeId;
    this.region = region;
  }

  /**
   * This service with a request marshaller that answers unparseable requests (invalid UTF-8)
   * with INVALID_ARGUMENT instead of grpc-java's UNKNOWN.
   */
  ServerServiceDefinition bindLenient() {
    ServerServiceDefinition base = bindService();
    MethodDescriptor<GenerateRequest, GenerateChunk> generate = InferenceGrpc.getGenerateMethod().toBuilder()
        .setRequestMarshaller(new LenientRequestMarshaller(InferenceGrpc.getGenerateMethod().getRequestMarshaller()))
        .build();
    ServiceDescriptor descriptor = base.getServiceDescriptor();
    ServiceDescriptor.Builder lenient = ServiceDescriptor.newBuilder(descriptor.getName())
        .setSchemaDescriptor(descriptor.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> others = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : base.getMethods()) {
      if (method.getMethodDescriptor().getFullMethodName().equals(generate.getFullMethodName())) {
        lenient.addMethod(generate);
      } else {
        lenient.addMethod(method.getMethodDescriptor());
        others.add(method);
      }
    }
    ServerServiceDefinition.Builder definition = ServerServiceDefinition.builder(lenient.build());
    @SuppressWarnings("unchecked")
    ServerCallHandler<GenerateRequest, GenerateChunk> handler = (ServerCallHandler<GenerateRequest, GenerateChunk>)
        base.getMethod(generate.getFullMethodName()).getServerCallHandler();
    definition.addMethod(generate, handler);
    others.forEach(definition::addMethod);
    return definition.build();
  }

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> responses) {
    try {
      service.authenticate(AuthorizationHeader.VALUE.get());
    } catch (EdgeException e) {
      responses.onError(GrpcErrors.toStatus(e));
      return;
    }
    ListModelsResponse.Builder answer = ListModelsResponse.newBuilder();
    service.model().ifPresent(m -> answer.addModels(ModelInfo.newBuilder()
        .setName(m.name())
        .setVersion(m.version())
        .setTier(Tier.TIER_EDGE)
        .setContextLength(m.contextSize())
        .setReady(service.ready())));
    // the core's models too: a caller may name them here, and the edge escalates them
    for (ListedModel m : service.listModels()) {
      if (m.ownedBy().equals("infermesh-core")) {
        answer.addModels(ModelInfo.newBuilder().setName(m.id()).setVersion(m.version()).setTier(Tier.TIER_CORE)
            .setContextLength(m.contextLength()).setReady(m.contextLength() > 0));
      }
    }
    responses.onNext(answer.build());
    responses.onCompleted();
  }

  /**
   * Embeds on the tier {@code model} names, as {@code POST /v1/embeddings} does ({@link
   * io.infermesh.edge.serve.EmbeddingService}).
   */
  @Override
  public void embed(EmbedRequest request, StreamObserver<EmbedResponse> responses) {
    EmbedResponse.Builder answer = EmbedResponse.newBuilder();
    try {
      limit("request_id", request.getRequestId(), MAX_REQUEST_ID_LENGTH);
      limit("model", request.getModel(), MAX_MODEL_LENGTH);
      limit("tenant", request.getTenant(), MAX_TENANT_LENGTH);
      RequestValidator.requestId("request_id", request.getRequestId());
      Tenant tenant = tenant(service.authenticate(AuthorizationHeader.VALUE.get()), request.getTenant());
      Embeddings result = service.embeddings().embed(request.getRequestId(), request.getInputList(),
          request.getModel(), Map.of(), tenant);
      for (float[] v : result.vectors()) {
        Embedding.Builder e = Embedding.newBuilder();
        for (float x : v) {
          e.addValues(x);
        }
        answer.addEmbeddings(e);
      }
      answer.setUsage(io.infermesh.api.v1.Usage.newBuilder().setPromptTokens(result.promptTokens()))
          .setServedBy(ServedBy.newBuilder()
              .setTier(result.route().route() == io.infermesh.edge.route.Route.CORE ? Tier.TIER_CORE : Tier.TIER_EDGE)
              .setNodeId(nodeId.get()).setRegion(region).setModel(result.model())
              .setRoute(result.route().route() == io.infermesh.edge.route.Route.CORE ? Route.ROUTE_CORE : Route.ROUTE_EDGE)
              .setRouteReason(result.route().reason()));
    } catch (EdgeException e) {
      responses.onError(GrpcErrors.toStatus(e));
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      responses.onError(Status.CANCELLED.withDescription("interrupted").asRuntimeException());
      return;
    }
    responses.onNext(answer.build());
    responses.onCompleted();
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateChunk> responses) {
    ServerCallStreamObserver<GenerateChunk> call = (ServerCallStreamObserver<GenerateChunk>) responses;
    CompletionStream stream;
    try {
      lengths(request);
      Tenant tenant = tenant(service.authenticate(AuthorizationHeader.VALUE.get()), request.getTenant());
      stream = service.open(toCompletionRequest(request), tenant);
    } catch (EdgeException e) {
      responses.onError(GrpcErrors.toStatus(e));
      return;
    } catch (PromptException e) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription(GrpcErrors.bounded(e.getMessage()))
          .asRuntimeException());
      return;
    }
    Context.CancellationListener onCancel = context -> stream.cancel();
    Context.current().addListener(onCancel, Runnable::run);
    try {
      pump(stream, call, request.hasToolCalling() ? new StringBuilder() : null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stream.cancel();
      responses.onError(Status.CANCELLED.withDescription("the server is shutting down").asRuntimeException());
    } catch (RuntimeException e) {
      log.error("request {}: gRPC stream failed", stream.served().requestId(), e);
      stream.cancel();
      responses.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
    } finally {
      Context.current().removeListener(onCancel);
      stream.close();
    }
  }

  /** Streams the answer; {@code toolText} (null when the request has no tools) collects it to tell tool calls. */
  private void pump(CompletionStream stream, ServerCallStreamObserver<GenerateChunk> call, StringBuilder toolText)
      throws InterruptedException {
    Served served = stream.served();
    Engine engine = service.engine().orElse(null);
    boolean first = true;
    while (true) {
      StreamEvent event = stream.next();
      if (call.isCancelled()) {
        stream.cancel();
        return;
      }
      if (event instanceof StreamEvent.Failed failed) {
        call.onError(GrpcErrors.toStatus(failed.error()));
        return;
      }
      GenerateChunk.Builder chunk = GenerateChunk.newBuilder().setRequestId(served.requestId());
      if (first) {
        chunk.setServedBy(servedBy(stream.served())); // after the first event: a core's answer has named its node
        first = false;
      }
      if (event instanceof StreamEvent.Delta delta) {
        chunk.setText(delta.text()).addAllLogprobs(WireLogprobs.toWire(delta.logprobs()));
        if (toolText != null) {
          toolText.append(delta.text());
        }
        if (engine != null && engine.knowsTokenIds() && stream.served().route().route() != io.infermesh.edge.route.Route.CORE) {
          // The binding reports text, not ids: these are the ids of the text re-tokenized. The
          // core's text gets none: ids in this vocabulary would not be the core's tokens.
          for (int id : engine.tokenize(delta.text())) {
            chunk.addTokenIds(id);
          }
        }
        awaitReady(call);
        call.onNext(chunk.build());
        continue;
      }
      StreamEvent.Done done = (StreamEvent.Done) event;
      Usage usage = done.usage();
      // the last chunk says how the answer was finally served (the core may have failed mid-stream)
      chunk.setServedBy(servedBy(stream.served()))
          .setFinishReason(done.finishReason() == io.infermesh.edge.engine.FinishReason.LENGTH
              ? FinishReason.FINISH_REASON_LENGTH
              : toolText != null && ToolCalls.parse(toolText.toString()).isPresent()
                  ? FinishReason.FINISH_REASON_TOOL_CALLS : FinishReason.FINISH_REASON_STOP)
          .setUsage(io.infermesh.api.v1.Usage.newBuilder()
              .setPromptTokens(usage.promptTokens())
              .setCompletionTokens(usage.completionTokens())
              .setCachedTokens(Math.max(0, usage.cachedTokens()))); // unreported: 0, proto3's absent
      awaitReady(call);
      call.onNext(chunk.build());
      call.onCompleted();
      return;
    }
  }

  private ServedBy servedBy(Served served) {
    ServedBy.Builder by = ServedBy.newBuilder();
    served.deferral().ifPresent(d -> by.setReanswerId(d.id()).setReanswerRefused(d.reason()));
    return by
        .setTier(served.route().route() == io.infermesh.edge.route.Route.CORE ? Tier.TIER_CORE : Tier.TIER_EDGE)
        .setNodeId(served.nodeId().isEmpty() ? nodeId.get() : served.nodeId()) // the core's, when it answered
        .setRegion(served.region().isEmpty() ? region : served.region())
        .setModel(served.model())
        .setModelVersion(served.modelVersion())
        .setRoute(route(served.route().route()))
        .setRouteReason(served.route().reason())
        .build();
  }

  /** Waits while the transport's buffer is full (flow control), giving up if the call ends. */
  private static void awaitReady(ServerCallStreamObserver<GenerateChunk> call) throws InterruptedException {
    while (!call.isReady() && !call.isCancelled()) {
      // onReady callbacks run on this call's serialized executor, which this thread holds: poll.
      TimeUnit.MILLISECONDS.sleep(READY_POLL_MILLIS);
    }
  }

  private static Route route(io.infermesh.edge.route.Route route) {
    return switch (route) {
      case EDGE -> Route.ROUTE_EDGE;
      case CORE -> Route.ROUTE_CORE;
      case EDGE_DEGRADED -> Route.ROUTE_EDGE_DEGRADED;
      case CACHE -> Route.ROUTE_CACHE;
      case REFUSED -> Route.ROUTE_UNSPECIFIED;
    };
  }

  /**
   * The tenant of a call: the API key's when keys are configured (the request's {@code tenant}
   * must then be empty or the same); otherwise the request's {@code tenant}, unlimited.
   */
  private static Tenant tenant(Tenant authenticated, String requested) {
    if (requested.isEmpty() || requested.equals(authenticated.name())) {
      return authenticated;
    }
    if (authenticated != Tenant.ANONYMOUS) {
      throw EdgeException.invalid("tenant", "tenant: the API key belongs to tenant '" + authenticated.name()
          + "'; leave tenant empty or set it to that");
    }
    if (!TENANT.matcher(requested).matches()) {
      throw EdgeException.invalid("tenant", "tenant: must be a lower-case DNS label, got '"
          + (requested.length() <= 64 ? requested : requested.substring(0, 64) + "…") + "'");
    }
    return new Tenant(requested, 0, 0);
  }

  /**
   * The length limits of the identifying strings, checked before anything reads them, so a huge
   * value is refused as such instead of being echoed into a status description (which would
   * overflow the client's metadata limit and hide the error as RESOURCE_EXHAUSTED).
   */
  static void lengths(GenerateRequest request) {
    if (request == LenientRequestMarshaller.INVALID_UTF8 || request == LenientRequestMarshaller.MALFORMED) {
      return; // refused by toCompletionRequest with its own message
    }
    limit("request_id", request.getRequestId(), MAX_REQUEST_ID_LENGTH);
    limit("model", request.getModel(), MAX_MODEL_LENGTH);
    limit("tenant", request.getTenant(), MAX_TENANT_LENGTH);
  }

  private static void limit(String field, String value, int max) {
    if (value.length() > max) {
      throw EdgeException.invalid(field, field + ": must be at most " + max + " characters, got " + value.length());
    }
  }

  /** The request in the shared form; gRPC-only checks (input set, known roles) happen here. */
  static CompletionRequest toCompletionRequest(GenerateRequest request) {
    if (request == LenientRequestMarshaller.INVALID_UTF8) {
      throw EdgeException.invalid(null, "request: a string field is not valid UTF-8");
    }
    if (request == LenientRequestMarshaller.MALFORMED) {
      throw EdgeException.invalid(null, "request: not a valid GenerateRequest encoding");
    }
    RequestValidator.requestId("request_id", request.getRequestId());
    if (request.getN() != 0 && request.getN() != 1) {
      // refused rather than ignored: this API streams one answer (the HTTP API and the core serve n > 1)
      throw EdgeException.invalid("n", "n: the edge's gRPC API answers one choice; ask for n > 1 over HTTP or"
          + " from the core, got " + request.getN());
    }
    Operation operation;
    List<ChatMessage> messages = List.of();
    String prompt = null;
    switch (request.getInputCase()) {
      case CHAT -> {
        operation = Operation.CHAT;
        messages = messages(request.getChat());
      }
      case PROMPT -> {
        operation = Operation.TEXT_COMPLETION;
        prompt = request.getPrompt();
      }
      default -> throw EdgeException.invalid("input", "input: set either chat (messages) or prompt");
    }
    SamplingParams s = request.getSampling();
    SamplingRequest sampling = new SamplingRequest(
        s.hasMaxTokens() ? s.getMaxTokens() : null,
        s.hasTemperature() ? (double) s.getTemperature() : null,
        s.hasTopP() ? (double) s.getTopP() : null,
        s.hasTopK() ? s.getTopK() : null,
        s.hasSeed() ? s.getSeed() : null,
        s.getStopList())
        .with(s.hasPresencePenalty() ? (double) s.getPresencePenalty() : null,
            s.hasFrequencyPenalty() ? (double) s.getFrequencyPenalty() : null,
            toDoubles(s.getLogitBiasMap()), wireLogprobs(s));
    Deadline deadline = Context.current().getDeadline();
    Optional<Duration> timeout = deadline == null ? Optional.empty()
        : Optional.of(Duration.ofNanos(Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS))));
    Map<String, String> hints = request.getHintsMap();
    hints.forEach((name, value) -> RoutingHints.check("hints.", name, value)); // fail closed
    String pinned = InfermeshMetadata.PIN.get();
    if (pinned != null) {
      String hinted = hints.get(VersionPin.HINT);
      if (hinted != null && !hinted.equals(pinned)) {
        throw EdgeException.invalid(VersionPin.HEADER, VersionPin.HEADER + ": the metadata pins '" + pinned
            + "' but hints.model-version pins '" + hinted + "'; send one");
      }
      hints = new HashMap<>(hints);
      hints.put(VersionPin.HINT, pinned);
    }
    if (request.getPriority() != io.infermesh.api.v1.Priority.PRIORITY_UNSPECIFIED) {
      hints = new HashMap<>(hints);
      hints.put(RequestValidator.PRIORITY_HINT, switch (request.getPriority()) {
        case PRIORITY_HIGH -> "high";
        case PRIORITY_LOW -> "low";
        default -> "normal";
      });
    }
    return new CompletionRequest(request.getRequestId(), operation, request.getModel(), messages, prompt, sampling,
        hints, timeout, structured(request));
  }

  /** The answer's form a request asks for ({@code response_format} or {@code tool_calling}). */
  private static StructuredOutput structured(GenerateRequest request) {
    if (request.hasResponseFormat() && request.hasToolCalling()) {
      throw EdgeException.invalid("response_format", "response_format: cannot be combined with tool_calling");
    }
    if (request.hasResponseFormat()) {
      ResponseFormat format = request.getResponseFormat();
      return switch (format.getFormatCase()) {
        case JSON_OBJECT -> StructuredOutput.jsonObject();
        case JSON_SCHEMA -> StructuredOutput.jsonSchema(format.getJsonSchema(), "response_format.json_schema");
        default -> throw EdgeException.invalid("response_format", "response_format: set json_object or json_schema");
      };
    }
    if (!request.hasToolCalling()) {
      return StructuredOutput.TEXT;
    }
    ToolCalling tools = request.getToolCalling();
    List<StructuredOutput.Function> functions = new ArrayList<>();
    for (FunctionTool f : tools.getFunctionsList()) {
      functions.add(new StructuredOutput.Function(f.getName(), f.getParametersJson()));
    }
    if (functions.isEmpty()) {
      throw EdgeException.invalid("tool_calling", "tool_calling.functions: at least one function is needed");
    }
    return StructuredOutput.tools(new StructuredOutput.Tools(functions,
        tools.getChoice().isEmpty() ? "auto" : tools.getChoice(), tools.getParallel()));
  }

  private static Map<Integer, Double> toDoubles(Map<Integer, Float> bias) {
    Map<Integer, Double> out = new HashMap<>();
    bias.forEach((k, v) -> out.put(k, (double) v));
    return out;
  }

  /** sampling.logprobs/top_logprobs as the shared validator reads them (null: not asked for). */
  private static Integer wireLogprobs(SamplingParams s) {
    if (!s.getLogprobs()) {
      if (s.getTopLogprobs() != 0) {
        throw EdgeException.invalid("top_logprobs", "top_logprobs: needs logprobs set");
      }
      return null;
    }
    return s.getTopLogprobs();
  }

  private static List<ChatMessage> messages(ChatMessages chat) {
    List<ChatMessage> messages = new ArrayList<>(chat.getMessagesCount());
    for (int i = 0; i < chat.getMessagesCount(); i++) {
      io.infermesh.api.v1.ChatMessage m = chat.getMessages(i);
      messages.add(new ChatMessage(RequestValidator.role(i, m.getRole()), m.getContent(), m.getName()));
    }
    return messages;
  }
}
