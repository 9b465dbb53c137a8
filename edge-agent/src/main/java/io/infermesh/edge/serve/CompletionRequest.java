package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.ChatMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One generation request as both transports hand it to {@link CompletionService}: already parsed
 * (roles known, types right) but not yet range-checked.
 *
 * @param requestId the caller's id, or empty to have one made up
 * @param operation chat or raw prompt
 * @param model the requested model or alias; empty means {@code auto}
 * @param messages the chat (for {@link Operation#CHAT}; empty otherwise)
 * @param prompt the raw prompt (for {@link Operation#TEXT_COMPLETION}; null otherwise)
 * @param sampling the sampling controls as sent
 * @param hints routing hints with lower-case keys
 * @param timeout the caller's own deadline (a gRPC deadline), if any
 * @param structured the form the answer must take (JSON, a schema, tool calls); {@link StructuredOutput#TEXT}
 *     for free text
 * @param choices how many choices the caller wants from this one request (OpenAI {@code n}, at least 1): the
 *     core generates them in one call from one prefill ({@link CompletionStream#choice}); the edge's engine
 *     answers choice 0 only and the caller asks for the others one by one
 */
public record CompletionRequest(
    String requestId,
    Operation operation,
    String model,
    List<ChatMessage> messages,
    String prompt,
    SamplingRequest sampling,
    Map<String, String> hints,
    Optional<Duration> timeout,
    StructuredOutput structured,
    int choices) {

  /** A request for one choice. */
  public CompletionRequest(String requestId, Operation operation, String model, List<ChatMessage> messages,
      String prompt, SamplingRequest sampling, Map<String, String> hints, Optional<Duration> timeout,
      StructuredOutput structured) {
    this(requestId, operation, model, messages, prompt, sampling, hints, timeout, structured, 1);
  }

  /** A request for free text. */
  public CompletionRequest(String requestId, Operation operation, String model, List<ChatMessage> messages,
      String prompt, SamplingRequest sampling, Map<String, String> hints, Optional<Duration> timeout) {
    this(requestId, operation, model, messages, prompt, sampling, hints, timeout, StructuredOutput.TEXT);
  }

  /** This request with {@code newHints} and {@code newTimeout}. */
  public CompletionRequest withHints(Map<String, String> newHints, Optional<Duration> newTimeout) {
    return new CompletionRequest(requestId, operation, model, messages, prompt, sampling, newHints, newTimeout,
        structured, choices);
  }

  /** This request naming {@code newModel} (an alias such as {@code edge}, or a model's name). */
  public CompletionRequest withModel(String newModel) {
    return new CompletionRequest(requestId, operation, newModel, messages, prompt, sampling, hints, timeout, structured,
        choices);
  }

  /** This request asking for {@code n} choices in one go. */
  public CompletionRequest withChoices(int n) {
    return new CompletionRequest(requestId, operation, model, messages, prompt, sampling, hints, timeout, structured, n);
  }

  /** This request with its input replaced: {@code newMessages} for a chat, {@code newPrompt} for a raw prompt. */
  public CompletionRequest withInput(List<ChatMessage> newMessages, String newPrompt) {
    return new CompletionRequest(requestId, operation, model, newMessages, newPrompt, sampling, hints, timeout,
        structured, choices);
  }

  public CompletionRequest {
    requireNonNull(structured, "structured");
    requestId = requestId == null ? "" : requestId;
    requireNonNull(operation, "operation");
    model = model == null ? "" : model;
    messages = List.copyOf(requireNonNull(messages, "messages"));
    requireNonNull(sampling, "sampling");
    hints = Map.copyOf(requireNonNull(hints, "hints"));
    requireNonNull(timeout, "timeout");
    if (choices < 1) {
      throw new IllegalArgumentException("choices must be at least 1, got " + choices);
    }
  }

  /** A chat request with defaults for everything else (handy in tests and benchmarks). */
  public static CompletionRequest chat(List<ChatMessage> messages, SamplingRequest sampling) {
    return new CompletionRequest("", Operation.CHAT, "", messages, null, sampling, Map.of(), Optional.empty());
  }

  /** A raw-prompt request with defaults for everything else. */
  public static CompletionRequest text(String prompt, SamplingRequest sampling) {
    return new CompletionRequest("", Operation.TEXT_COMPLETION, "", List.of(), prompt, sampling, Map.of(),
        Optional.empty());
  }
}
