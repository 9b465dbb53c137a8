package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.batch.ClaimedLine;
import io.infermesh.edge.batch.LineExecutor;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Embeddings;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.RequestValidator;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.StructuredOutput;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs batch lines through the same path as {@code POST /v1/chat/completions}, {@code
 * /v1/completions} and {@code /v1/embeddings}: the body parsed and checked by the same code, opened
 * on the {@link CompletionService} (authentication aside: the line runs as its batch's tenant) with
 * the routing hint {@code priority: low} (and the tenant's ceiling at low, so {@code service_tier}
 * in a body cannot raise it), so it is routed to the edge or the core like any request and rates,
 * quotas, privacy and the audit log apply. The answer is the JSON the endpoint would send.
 *
 * <p>Refused per line (an error line with 400 naming the field): {@code stream: true} (a batch
 * answer is whole), and {@code n} above 1, {@code echo} and {@code logprobs}, whose multi-choice
 * answers are not assembled here. A refusal the request might not meet later (a full queue, the
 * tenant's rate, a drain, the model loading) is {@link LineExecutor.Outcome.Retry}. Thread-safe.
 */
public final class BatchLines implements LineExecutor {
  private static final Duration RETRY = Duration.ofMillis(200);

  private final CompletionService service;
  private final EmbeddingsEndpoint embeddings;
  private final Clock clock;

  private BatchLines(CompletionService service, Clock clock) {
    this.service = requireNonNull(service, "service");
    this.clock = requireNonNull(clock, "clock");
    this.embeddings = new EmbeddingsEndpoint(service, new CompletionsEndpoint(service, 0, Duration.ZERO, clock));
  }

  /** Lines run on {@code service}, answers timed by {@code clock}. */
  public static BatchLines of(CompletionService service, Clock clock) {
    return new BatchLines(service, clock);
  }

  @Override
  public Outcome run(ClaimedLine line, Tenant tenant) {
    byte[] body = line.body().getBytes(StandardCharsets.UTF_8);
    try {
      return switch (line.endpoint()) {
        case CHAT_COMPLETIONS -> completion(body, Operation.CHAT, tenant);
        case COMPLETIONS -> completion(body, Operation.TEXT_COMPLETION, tenant);
        case EMBEDDINGS -> embedding(body, tenant);
      };
    } catch (EdgeException e) {
      if (retryable(e.kind())) {
        return new Outcome.Retry(e.kind().metricName(), e.retryAfter().orElse(RETRY));
      }
      return new Outcome.Answered(HttpErrors.status(e.kind()), "", HttpErrors.body(e));
    } catch (HttpProblem p) {
      return new Outcome.Answered(p.status(), "", HttpErrors.body(p.getMessage(), "invalid_request_error", p.param(),
          null));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome.Retry("interrupted", RETRY);
    }
  }

  private static boolean retryable(EdgeException.Kind kind) {
    return kind == EdgeException.Kind.RATE_LIMITED || kind == EdgeException.Kind.QUEUE_FULL
        || kind == EdgeException.Kind.UNAVAILABLE;
  }

  private Outcome completion(byte[] body, Operation operation, Tenant tenant) throws InterruptedException {
    OpenAiRequests.Parsed parsed = operation == Operation.CHAT ? OpenAiRequests.chat(body, "")
        : OpenAiRequests.text(body, "");
    if (parsed.stream()) {
      throw EdgeException.invalid("stream", "stream: a batch request is answered whole; leave stream unset");
    }
    if (parsed.n() > 1) {
      throw EdgeException.invalid("n", "n: batch requests answer one choice; send one line per choice");
    }
    if (parsed.echo()) {
      throw EdgeException.invalid("echo", "echo: not supported in batch requests");
    }
    if (parsed.request().sampling().wantsLogprobs()) {
      throw EdgeException.invalid("logprobs", "logprobs: not supported in batch requests");
    }
    CompletionRequest request = lowPriority(parsed.request());
    try (CompletionStream stream = service.open(request, tenant)) {
      StringBuilder text = new StringBuilder();
      StreamEvent end = stream.readRest(text);
      if (end instanceof StreamEvent.Failed failed) {
        throw failed.error();
      }
      StreamEvent.Done done = (StreamEvent.Done) end;
      OpenAiResponses responses = new OpenAiResponses(operation, CompletionsEndpoint.responseId(operation),
          clock.instant().getEpochSecond(), stream.served().model(), false);
      ObjectNode answer = parsed.request().structured().format() == StructuredOutput.Format.TOOL_CALLS
          ? ToolCallAnswer.whole(text.toString(), done, responses)
          : responses.complete(text.toString(), done.finishReason(), done.usage());
      return new Outcome.Answered(200, stream.served().requestId(), answer);
    }
  }

  private Outcome embedding(byte[] body, Tenant tenant) throws InterruptedException {
    JsonNode root = EmbeddingsEndpoint.parse(body);
    Map<String, String> hints = Map.of(RequestValidator.PRIORITY_HINT, "low");
    Embeddings result = embeddings.embed(root, "", hints, tenant);
    return new Outcome.Answered(200, "", EmbeddingsEndpoint.render(result,
        EmbeddingsEndpoint.encoding(root.get("encoding_format"))));
  }

  private static CompletionRequest lowPriority(CompletionRequest r) {
    Map<String, String> hints = new HashMap<>(r.hints());
    hints.put(RequestValidator.PRIORITY_HINT, "low");
    return r.withHints(hints, r.timeout());
  }
}
