package io.infermesh.edge.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.serve.EdgeException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The OpenAI API rule at the front door: every top-level field of a request body is either
 * honoured, accepted as documented metadata, or refused with 400 naming it — never silently
 * dropped. A field this server does not know gets OpenAI's own answer ({@code Unrecognized request
 * argument supplied: X}), so a client that relies on a newer feature learns at once that it is not
 * there. The table of every field is in the edge README ("OpenAI request fields").
 *
 * <p>This class owns the field lists and the fields that are not sampling controls ({@code n},
 * {@code echo}, {@code suffix}, {@code best_of}, {@code service_tier}, {@code user}, {@code
 * metadata}, {@code store}, ...); {@link OpenAiRequests} parses the rest. Stateless; thread-safe.
 */
final class OpenAiFields {
  /** The most choices one request may ask for ({@code n}): each is a whole generation. */
  static final int MAX_N = 8;
  /** The most alternatives per token a completions request may ask for ({@code logprobs}, OpenAI's limit). */
  static final int MAX_COMPLETION_LOGPROBS = 5;
  /** The longest {@code user} / {@code safety_identifier} accepted (it goes into logs). */
  static final int MAX_USER_CHARS = 256;
  /** OpenAI's limits on {@code metadata}: 16 pairs, keys up to 64 characters, values up to 512. */
  static final int MAX_METADATA_PAIRS = 16;
  static final int MAX_METADATA_KEY_CHARS = 64;
  static final int MAX_METADATA_VALUE_CHARS = 512;

  /** Fields of both completion endpoints that this server honours or validates as metadata. */
  private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "top_k", "seed",
      "stop", "stream", "stream_options", "n", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
      "user", "service_tier", "metadata", "store");

  /**
   * Structured output and tool calling: parsed (and honoured or refused) by that feature's own code;
   * known here so they are not "unrecognized".
   */
  private static final Set<String> STRUCTURED = Set.of("response_format", "tools", "tool_choice",
      "parallel_tool_calls", "functions", "function_call");

  /** Chat-only fields that are honoured or accepted. */
  private static final Set<String> CHAT = Set.of("messages", "max_completion_tokens", "top_logprobs",
      "safety_identifier", "prompt_cache_key");

  /** Chat fields for features this server does not have: refused with 400 when set (not null). */
  private static final Map<String, String> CHAT_UNSUPPORTED = Map.of(
      "audio", "audio output is not supported by this server",
      "prediction", "predicted outputs are not supported by this server",
      "reasoning_effort", "the served models are not reasoning models",
      "verbosity", "the served models take no verbosity setting",
      "web_search_options", "web search is not supported by this server");

  /** Keys of a chat message this server reads, or leaves to the structured-output and tools code. */
  private static final Set<String> MESSAGE = Set.of("role", "content", "name", "refusal", "tool_calls",
      "tool_call_id", "function_call");

  /** Completions-only fields. */
  private static final Set<String> TEXT = Set.of("prompt", "echo", "suffix", "best_of");

  /** The OpenAI {@code service_tier} values that mean one of the mesh's priorities. */
  private static final Map<String, String> SERVICE_TIERS = Map.of(
      "auto", "normal", "default", "normal", "flex", "low", "priority", "high");

  /** Fields of {@code POST /v1/embeddings}. */
  private static final Set<String> EMBEDDINGS = Set.of("model", "input", "encoding_format", "dimensions", "user");

  /**
   * What the checked fields ask for, beyond sampling.
   *
   * @param n how many choices, 1 to {@link #MAX_N}
   * @param echo completions: return the prompt before the completion
   * @param user the caller's end-user id for the logs, or empty
   * @param priority the priority hint {@code service_tier} maps to, or null
   */
  record Extras(int n, boolean echo, String user, String priority) {}

  private OpenAiFields() {}

  /** Checks the fields of a chat request; refuses unknown and unsupported ones. */
  static Extras chat(JsonNode root) {
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (COMMON.contains(field) || CHAT.contains(field) || STRUCTURED.contains(field)) {
        continue;
      }
      String unsupported = CHAT_UNSUPPORTED.get(field);
      if (unsupported != null) {
        if (!root.get(field).isNull()) {
          throw EdgeException.invalid(field, field + ": " + unsupported);
        }
        continue;
      }
      if (field.equals("modalities")) {
        modalities(root.get(field));
        continue;
      }
      throw unrecognized(field);
    }
    user(root, "safety_identifier");
    optionalString(root, "prompt_cache_key", MAX_USER_CHARS); // a cache-routing hint: no cache is shared across tenants here
    return common(root, false);
  }

  /**
   * Checks the keys of chat message {@code message} (at {@code at}, e.g. {@code messages[2]}):
   * unknown keys are refused as at the top level; {@code audio} (a reference to an earlier audio
   * answer) is refused when set; {@code refusal} of an earlier assistant turn is accepted and not
   * rendered (the chat templates have no place for it).
   */
  static void message(JsonNode message, String at) {
    for (Iterator<String> it = message.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (MESSAGE.contains(key)) {
        continue;
      }
      if (key.equals("audio")) {
        if (!message.get(key).isNull()) {
          throw EdgeException.invalid(at + ".audio", at + ".audio: audio is not supported by this server");
        }
        continue;
      }
      throw unrecognized(at + "." + key);
    }
  }

  /** Checks the fields of a text completion request; refuses unknown and unsupported ones. */
  static Extras text(JsonNode root) {
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!COMMON.contains(field) && !TEXT.contains(field)) {
        throw unrecognized(field);
      }
    }
    JsonNode suffix = root.get("suffix");
    if (suffix != null && !suffix.isNull() && !(suffix.isTextual() && suffix.textValue().isEmpty())) {
      throw EdgeException.invalid("suffix", "suffix: insertion (fill-in-the-middle) is not supported by this server");
    }
    JsonNode echo = root.get("echo");
    if (echo != null && !echo.isNull() && !echo.isBoolean()) {
      throw EdgeException.invalid("echo", "echo: must be true or false, got " + echo);
    }
    Extras extras = common(root, echo != null && echo.asBoolean(false));
    JsonNode bestOf = root.get("best_of");
    if (bestOf != null && !bestOf.isNull()) {
      if (!bestOf.isIntegralNumber() || !bestOf.canConvertToInt()) {
        throw EdgeException.invalid("best_of", "best_of: must be an integer, got " + bestOf);
      }
      if (bestOf.intValue() != extras.n()) {
        throw EdgeException.invalid("best_of", "best_of: only best_of equal to n (" + extras.n() + ") is supported "
            + "(choosing the best of more candidates is not), got " + bestOf.intValue());
      }
    }
    return extras;
  }

  /** Checks the fields of an embeddings request; refuses unknown ones. */
  static String embeddings(JsonNode root) {
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!EMBEDDINGS.contains(field)) {
        throw unrecognized(field);
      }
    }
    return user(root, "user");
  }

  /**
   * The chat {@code logprobs}/{@code top_logprobs} pair as the shared sampling request reads it:
   * null when not asked for, else the number of alternatives per token.
   */
  static Integer chatLogprobs(JsonNode root) {
    JsonNode logprobs = root.get("logprobs");
    JsonNode top = root.get("top_logprobs");
    boolean on = false;
    if (logprobs != null && !logprobs.isNull()) {
      if (!logprobs.isBoolean()) {
        throw EdgeException.invalid("logprobs", "logprobs: must be true or false, got " + logprobs);
      }
      on = logprobs.booleanValue();
    }
    if (top == null || top.isNull()) {
      return on ? 0 : null;
    }
    if (!top.isIntegralNumber() || !top.canConvertToInt()) {
      throw EdgeException.invalid("top_logprobs", "top_logprobs: must be an integer, got " + top);
    }
    if (!on) {
      throw EdgeException.invalid("top_logprobs", "top_logprobs: needs logprobs set to true");
    }
    return top.intValue();
  }

  /** The completions {@code logprobs} integer (0 to 5), or null when not asked for. */
  static Integer textLogprobs(JsonNode root) {
    JsonNode logprobs = root.get("logprobs");
    if (logprobs == null || logprobs.isNull()) {
      return null;
    }
    if (!logprobs.isIntegralNumber() || !logprobs.canConvertToInt()) {
      throw EdgeException.invalid("logprobs", "logprobs: must be an integer from 0 to " + MAX_COMPLETION_LOGPROBS
          + ", got " + logprobs);
    }
    int n = logprobs.intValue();
    if (n < 0 || n > MAX_COMPLETION_LOGPROBS) {
      throw EdgeException.invalid("logprobs", "logprobs: must be between 0 and " + MAX_COMPLETION_LOGPROBS
          + ", got " + n);
    }
    return n;
  }

  /** {@code logit_bias}: an object of token id (a decimal string) → number; ranges are the validator's. */
  static Map<Integer, Double> logitBias(JsonNode root) {
    JsonNode node = root.get("logit_bias");
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw EdgeException.invalid("logit_bias", "logit_bias: must be an object mapping token ids to biases");
    }
    if (node.size() > io.infermesh.edge.engine.Penalties.MAX_LOGIT_BIAS) {
      throw EdgeException.invalid("logit_bias", "logit_bias: at most " + io.infermesh.edge.engine.Penalties.MAX_LOGIT_BIAS
          + " entries are allowed, got " + node.size());
    }
    Map<Integer, Double> bias = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int token;
      try {
        token = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        throw EdgeException.invalid("logit_bias", "logit_bias: keys must be token ids, got '"
            + truncate(e.getKey()) + "'");
      }
      if (!e.getValue().isNumber()) {
        throw EdgeException.invalid("logit_bias", "logit_bias: the bias of token " + token + " must be a number, got "
            + e.getValue());
      }
      bias.put(token, e.getValue().doubleValue());
    }
    return bias;
  }

  private static Extras common(JsonNode root, boolean echo) {
    int n = 1;
    JsonNode nNode = root.get("n");
    if (nNode != null && !nNode.isNull()) {
      if (!nNode.isIntegralNumber() || !nNode.canConvertToInt()) {
        throw EdgeException.invalid("n", "n: must be an integer, got " + nNode);
      }
      n = nNode.intValue();
      if (n < 1 || n > MAX_N) {
        throw EdgeException.invalid("n", "n: must be between 1 and " + MAX_N + ", got " + n);
      }
    }
    String user = user(root, "user");
    metadata(root.get("metadata"));
    JsonNode store = root.get("store");
    if (store != null && !store.isNull()) {
      if (!store.isBoolean()) {
        throw EdgeException.invalid("store", "store: must be true or false, got " + store);
      }
      if (store.booleanValue()) {
        throw EdgeException.invalid("store", "store: this server does not store completions; omit store or set it"
            + " to false");
      }
    }
    return new Extras(n, echo, user, serviceTier(root.get("service_tier")));
  }

  /** {@code service_tier} as a priority hint: auto/default → normal, flex → low, priority → high. */
  private static String serviceTier(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      throw EdgeException.invalid("service_tier", "service_tier: must be a string, got " + node);
    }
    String priority = SERVICE_TIERS.get(node.textValue());
    if (priority == null) {
      throw EdgeException.invalid("service_tier", "service_tier: must be auto, default, flex or priority, got '"
          + truncate(node.textValue()) + "'");
    }
    return priority;
  }

  private static void modalities(JsonNode node) {
    if (node.isNull()) {
      return;
    }
    if (!node.isArray()) {
      throw EdgeException.invalid("modalities", "modalities: must be an array of strings");
    }
    for (JsonNode m : node) {
      if (!m.isTextual() || !m.textValue().equals("text")) {
        throw EdgeException.invalid("modalities", "modalities: only [\"text\"] is supported, got " + node);
      }
    }
  }

  private static void metadata(JsonNode node) {
    if (node == null || node.isNull()) {
      return;
    }
    if (!node.isObject() || node.size() > MAX_METADATA_PAIRS) {
      throw EdgeException.invalid("metadata", "metadata: must be an object of at most " + MAX_METADATA_PAIRS
          + " string pairs");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().length() > MAX_METADATA_KEY_CHARS || !e.getValue().isTextual()
          || e.getValue().textValue().length() > MAX_METADATA_VALUE_CHARS) {
        throw EdgeException.invalid("metadata", "metadata: keys must be at most " + MAX_METADATA_KEY_CHARS
            + " characters and values strings of at most " + MAX_METADATA_VALUE_CHARS + " characters");
      }
    }
  }

  /** An end-user id for the logs: a string of at most 256 printable characters, or empty when unset. */
  private static String user(JsonNode root, String field) {
    String user = optionalString(root, field, MAX_USER_CHARS);
    if (user.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw EdgeException.invalid(field, field + ": must not contain control characters");
    }
    return user;
  }

  private static String optionalString(JsonNode root, String field, int maxChars) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return "";
    }
    if (!node.isTextual()) {
      throw EdgeException.invalid(field, field + ": must be a string, got " + node.getNodeType().name()
          .toLowerCase(Locale.ROOT));
    }
    if (node.textValue().length() > maxChars) {
      throw EdgeException.invalid(field, field + ": must be at most " + maxChars + " characters, got "
          + node.textValue().length());
    }
    return node.textValue();
  }

  private static EdgeException unrecognized(String field) {
    String name = truncate(field);
    return EdgeException.invalid(name, "Unrecognized request argument supplied: " + name);
  }

  private static String truncate(String text) {
    return text.length() <= 64 ? text : text.substring(0, 64) + "…";
  }
}
