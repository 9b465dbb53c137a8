package io.infermesh.edge.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.RequestValidator;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StructuredOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Parses OpenAI request bodies ({@code /v1/chat/completions}, {@code /v1/completions}) into a
 * {@link CompletionRequest}. Type errors name the field in OpenAI's spelling ({@code
 * messages[1].content: must be a string}); range checks are left to the shared {@link
 * RequestValidator}. Every top-level field is honoured or refused ({@link OpenAiFields}): an
 * unknown one gets OpenAI's 400 {@code Unrecognized request argument supplied}. Stateless; thread-safe.
 */
final class OpenAiRequests {
  private static final ObjectMapper JSON = JsonMapper.builder(JsonLimits.factory()).build();

  /**
   * A parsed request and the HTTP-only options that shape the response.
   *
   * @param n how many choices to generate
   * @param echo completions: the prompt goes before each choice's text
   * @param user the caller's end-user id (logs only), or empty
   */
  record Parsed(CompletionRequest request, boolean stream, boolean includeUsage, int n, boolean echo, String user) {
    Parsed(CompletionRequest request, boolean stream, boolean includeUsage) {
      this(request, stream, includeUsage, 1, false, "");
    }
  }

  private OpenAiRequests() {}

  /** Parses a chat request body. */
  static Parsed chat(byte[] body, String requestId) {
    JsonNode root = parse(body);
    List<ChatMessage> messages = messages(root.get("messages"));
    return finish(root, new Builder(requestId, Operation.CHAT).messages(messages));
  }

  /** Parses a text completion request body. */
  static Parsed text(byte[] body, String requestId) {
    JsonNode root = parse(body);
    JsonNode prompt = root.get("prompt");
    String text;
    if (prompt == null || prompt.isNull()) {
      throw EdgeException.invalid("prompt", "prompt: is required");
    } else if (prompt.isTextual()) {
      text = prompt.textValue();
    } else if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
      text = prompt.get(0).textValue();
    } else if (prompt.isArray() && prompt.size() > 1) {
      throw EdgeException.invalid("prompt", "prompt: only one prompt per request is supported, got " + prompt.size());
    } else {
      throw EdgeException.invalid("prompt", "prompt: must be a string");
    }
    return finish(root, new Builder(requestId, Operation.TEXT_COMPLETION).prompt(text));
  }

  private static JsonNode parse(byte[] body) {
    JsonNode root;
    try (JsonParser parser = JSON.createParser(body)) {
      root = JSON.readTree(parser);
      if (parser.nextToken() != null) {
        throw new HttpProblem(400, null, "Invalid JSON body: unexpected content after the JSON object");
      }
    } catch (JsonParseException e) {
      String message = e.getOriginalMessage();
      if (message != null && message.contains("Invalid UTF-8")) {
        String field = fieldOf(e.getProcessor() == null ? null : e.getProcessor().getParsingContext());
        throw EdgeException.invalid(field, (field == null ? "body" : field)
            + ": the request body is not valid UTF-8 (" + message + ")");
      }
      throw new HttpProblem(400, null, "Invalid JSON body: " + firstLine(message) + location(e));
    } catch (JsonProcessingException e) {
      throw new HttpProblem(400, null, "Invalid JSON body: " + firstLine(e.getOriginalMessage()) + location(e));
    } catch (IOException e) {
      throw new HttpProblem(400, null, "Invalid JSON body: " + e.getMessage());
    }
    if (root == null || root.isMissingNode()) {
      throw new HttpProblem(400, null, "Invalid JSON body: the body is empty; send a JSON object");
    }
    if (!root.isObject()) {
      throw new HttpProblem(400, null, "Invalid JSON body: expected a JSON object");
    }
    return root;
  }

  private static Parsed finish(JsonNode root, Builder b) {
    boolean chat = b.operation == Operation.CHAT;
    OpenAiFields.Extras extras = chat ? OpenAiFields.chat(root) : OpenAiFields.text(root);
    b.model = optionalString(root, "model").orElse("");
    Integer maxTokens = optionalInt(root, "max_completion_tokens");
    if (maxTokens == null) {
      maxTokens = optionalInt(root, "max_tokens");
    } else if (optionalInt(root, "max_tokens") != null) {
      throw EdgeException.invalid("max_tokens", "max_tokens: set either max_tokens or max_completion_tokens, not both");
    }
    StructuredOutput structured = structured(root, b);
    Integer logprobs = chat ? OpenAiFields.chatLogprobs(root) : OpenAiFields.textLogprobs(root);
    if (extras.echo() && logprobs != null) {
      throw EdgeException.invalid("echo", "echo: cannot be combined with logprobs (prompt log-probabilities are"
          + " not computed)");
    }
    SamplingRequest sampling = new SamplingRequest(maxTokens, optionalNumber(root, "temperature"),
        optionalNumber(root, "top_p"), optionalInt(root, "top_k"), optionalLong(root, "seed"), stop(root.get("stop")))
        .with(optionalNumber(root, "presence_penalty"), optionalNumber(root, "frequency_penalty"),
            OpenAiFields.logitBias(root), logprobs);
    boolean stream = optionalBoolean(root, "stream");
    boolean includeUsage = false;
    JsonNode options = root.get("stream_options");
    if (options != null && !options.isNull()) {
      if (!options.isObject()) {
        throw EdgeException.invalid("stream_options", "stream_options: must be an object");
      }
      for (var it = options.fieldNames(); it.hasNext(); ) {
        String key = it.next();
        if (!key.equals("include_usage")) {
          throw EdgeException.invalid("stream_options." + key,
              "Unrecognized request argument supplied: stream_options." + key);
        }
      }
      includeUsage = optionalBoolean(options, "include_usage", "stream_options.include_usage");
    }
    Map<String, String> hints = extras.priority() == null ? Map.of()
        : Map.of(RequestValidator.PRIORITY_HINT, extras.priority()); // an x-infermesh-priority header overrides it
    CompletionRequest request = new CompletionRequest(b.requestId, b.operation, b.model, b.messages, b.prompt,
        sampling, hints, Optional.empty(), structured);
    return new Parsed(request, stream, includeUsage, extras.n(), extras.echo(), extras.user());
  }

  /**
   * response_format and tools (see {@link OpenAiStructured}); chat only. Tools in use are listed
   * in the system turn of {@code b}'s messages.
   */
  private static StructuredOutput structured(JsonNode root, Builder b) {
    if (b.operation != Operation.CHAT) {
      for (String field : List.of("response_format", "tools", "tool_choice", "functions", "function_call")) {
        JsonNode v = root.get(field);
        if (v != null && !v.isNull()) {
          throw EdgeException.invalid(field, field + ": only supported on /v1/chat/completions");
        }
      }
      return StructuredOutput.TEXT;
    }
    StructuredOutput structured = OpenAiStructured.parse(root);
    if (structured.format() == StructuredOutput.Format.TOOL_CALLS) {
      b.messages(OpenAiStructured.withTools(b.messages, root.get("tools")));
    }
    return structured;
  }

  private static List<ChatMessage> messages(JsonNode node) {
    if (node == null || node.isNull()) {
      throw EdgeException.invalid("messages", "messages: is required");
    }
    if (!node.isArray()) {
      throw EdgeException.invalid("messages", "messages: must be an array of messages");
    }
    if (node.isEmpty()) {
      throw EdgeException.invalid("messages", "messages: must contain at least one message");
    }
    List<ChatMessage> messages = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      JsonNode m = node.get(i);
      String at = "messages[" + i + "]";
      if (!m.isObject()) {
        throw EdgeException.invalid(at, at + ": must be an object with role and content");
      }
      OpenAiFields.message(m, at);
      JsonNode roleNode = m.get("role");
      if (roleNode == null || !roleNode.isTextual()) {
        throw EdgeException.invalid(at + ".role", at + ".role: is required and must be a string");
      }
      // "developer" is OpenAI's newer name for a system turn (sent by recent SDKs).
      String roleName = "developer".equals(roleNode.textValue()) ? "system" : roleNode.textValue();
      if (OpenAiStructured.isToolMessage(m, roleName, at)) {
        messages.add(OpenAiStructured.toolMessage(m, at, roleName));
        continue;
      }
      Role role = RequestValidator.role(i, roleName);
      String content = content(m.get("content"), at + ".content", role);
      JsonNode nameNode = m.get("name");
      if (nameNode != null && !nameNode.isNull() && !nameNode.isTextual()) {
        throw EdgeException.invalid(at + ".name", at + ".name: must be a string");
      }
      messages.add(new ChatMessage(role, content, nameNode == null || nameNode.isNull() ? "" : nameNode.textValue()));
    }
    return messages;
  }

  /** A string, or OpenAI's array of {@code {"type":"text","text":…}} parts joined; anything else is refused. */
  static String content(JsonNode node, String field, Role role) {
    if (node == null || node.isNull()) {
      if (role == Role.ASSISTANT) {
        return "";
      }
      throw EdgeException.invalid(field, field + ": is required");
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isArray()) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < node.size(); i++) {
        JsonNode part = node.get(i);
        if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw EdgeException.invalid(field + "[" + i + "]",
              field + "[" + i + "]: only text parts ({\"type\": \"text\", \"text\": \"...\"}) are supported");
        }
        text.append(part.get("text").textValue());
      }
      return text.toString();
    }
    throw EdgeException.invalid(field, field + ": must be a string or an array of text parts, got "
        + node.getNodeType().name().toLowerCase(Locale.ROOT));
  }

  private static List<String> stop(JsonNode node) {
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (node.isTextual()) {
      return List.of(node.textValue());
    }
    if (node.isArray()) {
      List<String> stop = new ArrayList<>();
      for (int i = 0; i < node.size(); i++) {
        if (!node.get(i).isTextual()) {
          throw EdgeException.invalid("stop", "stop[" + i + "]: must be a string");
        }
        stop.add(node.get(i).textValue());
      }
      return stop;
    }
    throw EdgeException.invalid("stop", "stop: must be a string or an array of strings");
  }

  private static Optional<String> optionalString(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return Optional.empty();
    }
    if (!v.isTextual()) {
      throw EdgeException.invalid(field, field + ": must be a string");
    }
    return Optional.of(v.textValue());
  }

  private static Integer optionalInt(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      if (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue()) && v.canConvertToInt()) {
        return v.intValue();
      }
      throw EdgeException.invalid(field, field + ": must be an integer, got " + v);
    }
    return v.intValue();
  }

  private static Long optionalLong(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw EdgeException.invalid(field, field + ": must be an integer, got " + v);
    }
    return v.longValue();
  }

  private static Double optionalNumber(JsonNode root, String field) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isNumber()) {
      throw EdgeException.invalid(field, field + ": must be a number, got " + v);
    }
    return v.doubleValue();
  }

  private static boolean optionalBoolean(JsonNode root, String field) {
    return optionalBoolean(root, field, field);
  }

  private static boolean optionalBoolean(JsonNode root, String field, String name) {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return false;
    }
    if (!v.isBoolean()) {
      throw EdgeException.invalid(name, name + ": must be true or false, got " + v);
    }
    return v.booleanValue();
  }

  /** The OpenAI-style path of the field being read ({@code messages[0].content}), or null at the top. */
  private static String fieldOf(JsonStreamContext context) {
    List<String> parts = new ArrayList<>();
    for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
      if (c.inArray()) {
        parts.add(0, "[" + c.getCurrentIndex() + "]");
      } else if (c.getCurrentName() != null) {
        parts.add(0, "." + c.getCurrentName());
      }
    }
    if (parts.isEmpty()) {
      return null;
    }
    String path = String.join("", parts);
    return path.startsWith(".") ? path.substring(1) : path;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "malformed JSON";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  private static String location(JsonProcessingException e) {
    return e.getLocation() == null ? ""
        : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
  }

  /** Collects the parts of a request while parsing. Confined to the parsing thread. */
  private static final class Builder {
    private final String requestId;
    private final Operation operation;
    private String model = "";
    private List<ChatMessage> messages = List.of();
    private String prompt;

    Builder(String requestId, Operation operation) {
      this.requestId = requestId;
      this.operation = operation;
    }

    Builder messages(List<ChatMessage> value) {
      this.messages = value;
      return this;
    }

    Builder prompt(String value) {
      this.prompt = value;
      return this;
    }
  }
}
