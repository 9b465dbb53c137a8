package io.infermesh.edge.serve;

import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Penalties;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.models.stop.StopStrings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The range checks both transports share, so HTTP and gRPC callers get the same messages. Each
 * failure is an {@link EdgeException.Kind#INVALID_ARGUMENT} whose param and message name the field
 * in OpenAI's spelling ({@code messages[2].role}, {@code max_tokens}). Stateless; thread-safe.
 */
public final class RequestValidator {
  /** Defaults when a request sets nothing, as OpenAI's: temperature 1, top_p 1, no top-k cut. */
  static final float DEFAULT_TEMPERATURE = 1.0f;
  static final float DEFAULT_TOP_P = 1.0f;
  static final int MAX_REQUEST_ID_LENGTH = 128;

  private RequestValidator() {}

  /** The role named {@code role} for message {@code index}: {@code system}, {@code user} or {@code assistant}. */
  public static Role role(int index, String role) {
    return Role.parse(role).orElseThrow(() -> EdgeException.invalid("messages[" + index + "].role",
        "messages[" + index + "].role: unknown role '" + truncate(role)
            + "'; expected one of system, user, assistant"));
  }

  /** Checks the request id: empty, or up to 128 printable ASCII characters. */
  public static void requestId(String param, String requestId) {
    if (requestId.length() > MAX_REQUEST_ID_LENGTH || requestId.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw EdgeException.invalid(param, param + ": must be at most " + MAX_REQUEST_ID_LENGTH
          + " printable ASCII characters without spaces");
    }
  }

  /** Checks the chat: at least one message, and only assistant turns may be empty. */
  static void messages(List<ChatMessage> messages) {
    if (messages.isEmpty()) {
      throw EdgeException.invalid("messages", "messages: must contain at least one message");
    }
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (m.content().isEmpty() && m.role() != Role.ASSISTANT) {
        throw EdgeException.invalid("messages[" + i + "].content",
            "messages[" + i + "].content: must not be empty for a " + m.role().wireName() + " message");
      }
    }
  }

  /**
   * Range-checks {@code sampling} for a model with {@code contextSize} tokens per request; an unset
   * {@code max_tokens} is left for {@link RequestPlanner} to fill.
   */
  /** The hint (and {@code x-infermesh-priority} header) that carries a request's {@link Priority}. */
  public static final String PRIORITY_HINT = "priority";

  /** The request's scheduling class from its hints; {@link Priority#NORMAL} when unset. */
  static Priority priority(Map<String, String> hints) {
    String name = hints.get(PRIORITY_HINT);
    if (name == null || name.isBlank()) {
      return Priority.NORMAL;
    }
    return Priority.parse(name).orElseThrow(() -> EdgeException.invalid(PRIORITY_HINT,
        "priority: must be high, normal or low, got '" + truncate(name) + "'"));
  }

  static SamplingParams sampling(SamplingRequest sampling, int contextSize) {
    int maxTokens = 0;
    if (sampling.maxTokens() != null) {
      maxTokens = sampling.maxTokens();
      if (maxTokens < 1) {
        throw EdgeException.invalid("max_tokens", "max_tokens: must be at least 1, got " + maxTokens);
      }
      if (maxTokens > contextSize) {
        throw EdgeException.invalid("max_tokens", "context_length_exceeded", "max_tokens: must be at most "
            + contextSize + " (the model's context length), got " + maxTokens);
      }
    }
    float temperature = DEFAULT_TEMPERATURE;
    if (sampling.temperature() != null) {
      double t = sampling.temperature();
      temperature = (float) t; // checked as the engine will see it: a float
      if (!(temperature >= 0 && temperature <= 2)) {
        throw EdgeException.invalid("temperature", "temperature: must be between 0 and 2, got " + t);
      }
    }
    float topP = DEFAULT_TOP_P;
    if (sampling.topP() != null) {
      double p = sampling.topP();
      topP = (float) p; // a positive double below Float.MIN_VALUE becomes 0: refuse it, as the engine would
      if (!(topP > 0 && topP <= 1)) {
        throw EdgeException.invalid("top_p", "top_p: must be greater than 0 and at most 1"
            + (p > 0 && topP == 0 ? " (the smallest usable value is " + Float.MIN_VALUE + ")" : "") + ", got " + p);
      }
    }
    int topK = 0;
    if (sampling.topK() != null) {
      topK = sampling.topK();
      if (topK < 0) {
        throw EdgeException.invalid("top_k", "top_k: must not be negative, got " + topK);
      }
    }
    List<String> stop = sampling.stop();
    StopStrings.check(stop).ifPresent(p -> {
      throw EdgeException.invalid("stop", p.field("stop") + ": " + p.reason());
    });
    OptionalLong seed = sampling.seed() == null ? OptionalLong.empty() : OptionalLong.of(sampling.seed());
    Penalties penalties = penalties(sampling);
    logprobs(sampling);
    // An unset max_tokens is a placeholder 1 until the planner knows the prompt length.
    return new SamplingParams(maxTokens == 0 ? 1 : maxTokens, temperature, topP, topK, seed, stop, penalties);
  }

  /** The most alternatives per token a request may ask log-probabilities for (OpenAI's limit). */
  public static final int MAX_TOP_LOGPROBS = 20;

  /** presence_penalty, frequency_penalty and logit_bias, range-checked. */
  private static Penalties penalties(SamplingRequest s) {
    float presence = penalty("presence_penalty", s.presencePenalty());
    float frequency = penalty("frequency_penalty", s.frequencyPenalty());
    if (s.logitBias().size() > Penalties.MAX_LOGIT_BIAS) {
      throw EdgeException.invalid("logit_bias", "logit_bias: at most " + Penalties.MAX_LOGIT_BIAS
          + " entries are allowed, got " + s.logitBias().size());
    }
    Map<Integer, Float> bias = new HashMap<>();
    for (Map.Entry<Integer, Double> e : s.logitBias().entrySet()) {
      double b = e.getValue();
      if (e.getKey() < 0) {
        throw EdgeException.invalid("logit_bias", "logit_bias: token ids must not be negative, got " + e.getKey());
      }
      if (!(b >= -100 && b <= 100)) {
        throw EdgeException.invalid("logit_bias", "logit_bias: the bias of token " + e.getKey()
            + " must be between -100 and 100, got " + b);
      }
      bias.put(e.getKey(), (float) b);
    }
    return new Penalties(presence, frequency, bias);
  }

  /** Refuses logit_bias ids outside the vocabulary of the model that will sample ({@code vocab} tokens). */
  static void logitBiasFits(SamplingParams sampling, int vocab, String modelName) {
    for (int token : sampling.penalties().logitBias().keySet()) {
      if (token >= vocab) {
        throw EdgeException.invalid("logit_bias", "logit_bias: token id " + token + " is not in the vocabulary of "
            + modelName + " (" + vocab + " tokens)");
      }
    }
  }

  private static float penalty(String field, Double value) {
    if (value == null) {
      return 0f;
    }
    if (!(value >= -2 && value <= 2)) {
      throw EdgeException.invalid(field, field + ": must be between -2 and 2, got " + value);
    }
    return value.floatValue();
  }

  private static void logprobs(SamplingRequest s) {
    if (s.topLogprobs() != null && (s.topLogprobs() < 0 || s.topLogprobs() > MAX_TOP_LOGPROBS)) {
      throw EdgeException.invalid("top_logprobs", "top_logprobs: must be between 0 and " + MAX_TOP_LOGPROBS
          + ", got " + s.topLogprobs());
    }
  }

  private static String truncate(String text) {
    if (text == null) {
      return "null";
    }
    return text.length() <= 40 ? text : text.substring(0, 40) + "…";
  }
}
