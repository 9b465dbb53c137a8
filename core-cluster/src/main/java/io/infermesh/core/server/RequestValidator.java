package io.infermesh.core.server;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.core.engine.Penalties;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.status.ClientText;
import io.infermesh.core.status.CoreException;
import io.infermesh.models.stop.StopStrings;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a {@link GenerateRequest} field by field; failures name the field. A client's own text is
 * never echoed whole: at most {@link ClientText#MAX_ECHO} characters of it (see {@link ClientText}),
 * so a status description always fits gRPC's metadata limit and the caller sees the real error.
 * Stateless.
 */
final class RequestValidator {
  static final Set<String> ROLES = Set.of("system", "user", "assistant");
  static final int MAX_STOPS = StopStrings.MAX_COUNT;
  /** Longest {@code request_id}, in characters (the proto's documented limit). */
  static final int MAX_REQUEST_ID = 128;
  /** Longest {@code model}, in characters. */
  static final int MAX_MODEL = 256;
  /** Longest {@code tenant}, in characters. */
  static final int MAX_TENANT = 128;
  /** The most texts one embedding request may carry (OpenAI allows 2048; a core node answers one at a time). */
  static final int MAX_EMBED_INPUTS = 256;

  private RequestValidator() {}

  /**
   * The length limits of the identifying strings, checked before anything else reads them (a
   * 100 KB {@code model} must be refused as such, not echoed into a status).
   */
  static void lengths(GenerateRequest r) {
    lengths(r.getRequestId(), r.getModel(), r.getTenant());
  }

  private static void lengths(String requestId, String model, String tenant) {
    limit("request_id", requestId, MAX_REQUEST_ID);
    limit("model", model, MAX_MODEL);
    limit("tenant", tenant, MAX_TENANT);
  }

  /**
   * The checks of an {@link EmbedRequest} that do not depend on the engine: the identifying strings
   * (as for Generate), {@code model} for a node serving {@code served}, and 1 to {@link
   * #MAX_EMBED_INPUTS} non-empty texts.
   */
  static void embed(EmbedRequest r, String served) {
    lengths(r.getRequestId(), r.getModel(), r.getTenant());
    requestId(r.getRequestId());
    model(r.getModel(), served);
    int count = r.getInputCount();
    if (count == 0 || count > MAX_EMBED_INPUTS) {
      throw CoreException.invalidArgument("input", "must hold 1 to " + MAX_EMBED_INPUTS + " texts, got " + count);
    }
    for (int i = 0; i < count; i++) {
      if (r.getInput(i).isEmpty()) {
        throw CoreException.invalidArgument("input[" + i + "]", "must not be empty");
      }
    }
  }

  static void limit(String field, String value, int max) {
    if (value.length() > max) {
      throw CoreException.invalidArgument(field, "must be at most " + max + " characters, got " + value.length());
    }
  }

  /** The caller's id (a label, never a key), or empty. */
  static String requestId(GenerateRequest r) {
    return requestId(r.getRequestId());
  }

  static String requestId(String id) {
    if (id.length() > MAX_REQUEST_ID || !id.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
      throw CoreException.invalidArgument("request_id", "must be up to " + MAX_REQUEST_ID
          + " printable ASCII characters without spaces");
    }
    return id;
  }

  /** Refuses a {@code model} other than an alias or {@code served} with NOT_FOUND. */
  static void model(String name, String served) {
    if (!name.isEmpty() && !name.equals("auto") && !name.equals("core") && !name.equals(served)) {
      throw CoreException.of(CoreException.Kind.NOT_FOUND,
          "model " + ClientText.quote(name) + " is not served here (serving '" + served + "')");
    }
  }

  /** Most choices ({@code n}) one request may ask for. */
  static final int MAX_CHOICES = 8;

  /** {@code n}: 1 when unset (0), else 1 to {@value #MAX_CHOICES}. */
  static int choices(GenerateRequest r) {
    int n = r.getN();
    if (n == 0) {
      return 1;
    }
    if (n < 1 || n > MAX_CHOICES) {
      throw CoreException.invalidArgument("n", "must be in [1, " + MAX_CHOICES + "], got " + n);
    }
    return n;
  }

  static Priority priority(GenerateRequest r) {
    return switch (r.getPriority()) {
      case PRIORITY_UNSPECIFIED, PRIORITY_NORMAL -> Priority.NORMAL;
      case PRIORITY_HIGH -> Priority.HIGH;
      case PRIORITY_LOW -> Priority.LOW;
      default -> throw CoreException.invalidArgument("priority", "unknown value " + r.getPriorityValue());
    };
  }

  static List<ChatMessage> chat(GenerateRequest r) {
    List<ChatMessage> messages = r.getChat().getMessagesList();
    if (messages.isEmpty()) {
      throw CoreException.invalidArgument("chat.messages", "must hold at least one message");
    }
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (!ROLES.contains(m.getRole())) {
        throw CoreException.invalidArgument("chat.messages[" + i + "].role", "must be system, user or assistant, got "
            + ClientText.quote(m.getRole()));
      }
      if (m.getContent().isEmpty() && !m.getRole().equals("assistant")) {
        throw CoreException.invalidArgument("chat.messages[" + i + "].content", "must not be empty for a " + m.getRole() + " turn");
      }
    }
    return messages;
  }

  /** The most logit_bias entries a request may carry (OpenAI's limit). */
  static final int MAX_LOGIT_BIAS = 300;

  /** Sampling settings with server defaults for unset fields; token ids are not checked against a vocabulary. */
  static io.infermesh.core.engine.SamplingParams sampling(SamplingParams s) {
    return sampling(s, Integer.MAX_VALUE);
  }

  /** Sampling settings with server defaults for unset fields, for a model of {@code vocab} tokens. */
  static io.infermesh.core.engine.SamplingParams sampling(SamplingParams s, int vocab) {
    float temperature = s.hasTemperature() ? s.getTemperature() : 1f;
    if (!(temperature >= 0f && temperature <= 2f)) {
      throw CoreException.invalidArgument("sampling.temperature", "must be in [0, 2], got " + temperature);
    }
    float topP = s.hasTopP() ? s.getTopP() : 1f;
    if (!(topP > 0f && topP <= 1f)) {
      throw CoreException.invalidArgument("sampling.top_p", "must be in (0, 1], got " + topP);
    }
    int topK = s.hasTopK() ? s.getTopK() : 0;
    if (topK < 0) {
      throw CoreException.invalidArgument("sampling.top_k", "must not be negative, got " + topK);
    }
    // the bounds the edge keeps too (count, bytes each): gRPC callers reach the core directly
    StopStrings.check(s.getStopList()).ifPresent(p -> {
      throw CoreException.invalidArgument(p.field("sampling.stop"), p.reason());
    });
    long seed = s.hasSeed() ? s.getSeed() : System.nanoTime();
    return new io.infermesh.core.engine.SamplingParams(temperature, topK, topP, seed, penalties(s, vocab),
        topLogprobs(s));
  }

  /** presence_penalty, frequency_penalty and logit_bias, range-checked. */
  static Penalties penalties(SamplingParams s, int vocab) {
    float presence = s.hasPresencePenalty() ? s.getPresencePenalty() : 0f;
    if (!(presence >= -2f && presence <= 2f)) {
      throw CoreException.invalidArgument("sampling.presence_penalty", "must be in [-2, 2], got " + presence);
    }
    float frequency = s.hasFrequencyPenalty() ? s.getFrequencyPenalty() : 0f;
    if (!(frequency >= -2f && frequency <= 2f)) {
      throw CoreException.invalidArgument("sampling.frequency_penalty", "must be in [-2, 2], got " + frequency);
    }
    if (s.getLogitBiasCount() > MAX_LOGIT_BIAS) {
      throw CoreException.invalidArgument("sampling.logit_bias", "at most " + MAX_LOGIT_BIAS + " entries, got "
          + s.getLogitBiasCount());
    }
    for (Map.Entry<Integer, Float> e : s.getLogitBiasMap().entrySet()) {
      if (e.getKey() < 0 || e.getKey() >= vocab) {
        throw CoreException.invalidArgument("sampling.logit_bias", "token id " + e.getKey() + " is not in the model's vocabulary"
            + (vocab == Integer.MAX_VALUE ? "" : " of " + vocab + " tokens"));
      }
      float b = e.getValue();
      if (!(b >= -100f && b <= 100f)) {
        throw CoreException.invalidArgument("sampling.logit_bias", "the bias of token " + e.getKey() + " must be in [-100, 100], got "
            + b);
      }
    }
    return new Penalties(presence, frequency, s.getLogitBiasMap());
  }

  /** -1 when log-probabilities are not asked for, else how many alternatives to report. */
  static int topLogprobs(SamplingParams s) {
    if (!s.getLogprobs()) {
      if (s.getTopLogprobs() != 0) {
        throw CoreException.invalidArgument("sampling.top_logprobs", "needs sampling.logprobs set");
      }
      return -1;
    }
    int top = s.getTopLogprobs();
    if (top < 0 || top > io.infermesh.core.engine.SamplingParams.MAX_TOP_LOGPROBS) {
      throw CoreException.invalidArgument("sampling.top_logprobs", "must be in [0, "
          + io.infermesh.core.engine.SamplingParams.MAX_TOP_LOGPROBS + "], got " + top);
    }
    return top;
  }

  /** max_tokens, checked against what the context leaves after the prompt. */
  static int maxTokens(SamplingParams s, int promptTokens, int context, int defaultMax) {
    if (promptTokens >= context) {
      throw CoreException.invalidArgument(
          "prompt", "is " + promptTokens + " tokens; the model's context is " + context + " (prompt + max_tokens)");
    }
    if (!s.hasMaxTokens()) {
      return Math.min(defaultMax, context - promptTokens);
    }
    int max = s.getMaxTokens();
    if (max <= 0) {
      throw CoreException.invalidArgument("sampling.max_tokens", "must be at least 1, got " + max);
    }
    if ((long) promptTokens + max > context) {
      throw CoreException.invalidArgument("sampling.max_tokens", max + " with a " + promptTokens
          + "-token prompt exceeds the model's context of " + context);
    }
    return max;
  }
}
