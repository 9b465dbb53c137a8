package io.infermesh.edge.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.ToolForm;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.StructuredOutput;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.chat.ToolCalls;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The structured-output and tool fields of an OpenAI chat body: {@code response_format}, {@code
 * tools}, {@code tool_choice}, {@code parallel_tool_calls}, assistant {@code tool_calls} and
 * {@code tool} messages. Each turn that involves tools carries two forms (see {@link ChatMessage}):
 * the fallback text ({@link ToolCalls}: tools listed in the system turn, past calls and results as
 * turns), which the core and the fixed templates read, and the turn as sent, which a checkpoint's
 * own template renders. The legacy {@code
 * functions} / {@code function_call} are refused, naming the field. Stateless; thread-safe.
 */
final class OpenAiStructured {
  /** OpenAI's limit on tools per request. */
  static final int MAX_TOOLS = 128;
  private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
  private static final ObjectMapper JSON = new ObjectMapper();

  private OpenAiStructured() {}

  /** The answer's form from a chat body (free text when nothing asks otherwise). */
  static StructuredOutput parse(JsonNode root) {
    for (String legacy : List.of("functions", "function_call")) {
      if (present(root.get(legacy))) {
        throw EdgeException.invalid(legacy, legacy + ": the deprecated functions API is not supported; send tools "
            + "and tool_choice instead");
      }
    }
    StructuredOutput format = responseFormat(root.get("response_format"));
    JsonNode tools = root.get("tools");
    JsonNode choice = root.get("tool_choice");
    JsonNode parallel = root.get("parallel_tool_calls");
    if (!present(tools) || tools.isArray() && tools.isEmpty()) {
      if (present(choice)) {
        throw EdgeException.invalid("tool_choice", "tool_choice: is only allowed when tools are given");
      }
      return format;
    }
    List<StructuredOutput.Function> functions = functions(tools);
    String mode = choice(choice);
    if (mode.equals("none")) {
      return format;
    }
    if (!format.isText()) {
      throw EdgeException.invalid("response_format", "response_format: cannot be combined with tools unless "
          + "tool_choice is \"none\"");
    }
    if (present(parallel) && !parallel.isBoolean()) {
      throw EdgeException.invalid("parallel_tool_calls", "parallel_tool_calls: must be true or false, got " + parallel);
    }
    return StructuredOutput.tools(new StructuredOutput.Tools(functions, mode,
        !present(parallel) || parallel.booleanValue()));
  }

  /**
   * {@code messages} with the tools listed in the system turn (the first turn, added when there is
   * none): in its content in the fallback form, and as sent in its {@link ToolForm}.
   */
  static List<ChatMessage> withTools(List<ChatMessage> messages, JsonNode tools) {
    List<String> texts = new ArrayList<>();
    for (JsonNode t : tools) {
      texts.add(t.toString());
    }
    List<ChatMessage> out = new ArrayList<>(messages.size() + 1);
    boolean hasSystem = !messages.isEmpty() && messages.get(0).role() == Role.SYSTEM;
    String system = hasSystem ? messages.get(0).content() : "";
    out.add(new ChatMessage(Role.SYSTEM, ToolCalls.systemWithTools(system, texts), "",
        Optional.of(new ToolForm(hasSystem ? Optional.of(ChatTurn.system(system)) : Optional.empty(), texts))));
    out.addAll(hasSystem ? messages.subList(1, messages.size()) : messages);
    return out;
  }

  /**
   * Whether {@code m} (at {@code at}) is a tool result or an assistant turn with calls (rendered by
   * {@link #toolMessage}); a message with the deprecated {@code function_call} is refused.
   */
  static boolean isToolMessage(JsonNode m, String role, String at) {
    if (present(m.get("function_call"))) {
      throw EdgeException.invalid(at + ".function_call", at + ".function_call: the deprecated functions API is not "
          + "supported; send tool_calls instead");
    }
    return "tool".equals(role) || "assistant".equals(role) && present(m.get("tool_calls"));
  }

  /**
   * A {@code tool} message or an assistant message with {@code tool_calls}: as a plain turn in the
   * fallback form, and as sent in its {@link ToolForm}.
   */
  static ChatMessage toolMessage(JsonNode m, String at, String role) {
    if ("tool".equals(role)) {
      JsonNode id = m.get("tool_call_id");
      if (id == null || !id.isTextual()) {
        throw EdgeException.invalid(at + ".tool_call_id", at + ".tool_call_id: is required for a tool message");
      }
      String content = OpenAiRequests.content(m.get("content"), at + ".content", Role.USER);
      return new ChatMessage(Role.USER, ToolCalls.toolResult(content), "",
          Optional.of(ToolForm.of(ChatTurn.tool(id.textValue(), content))));
    }
    JsonNode calls = m.get("tool_calls");
    if (!calls.isArray()) {
      throw EdgeException.invalid(at + ".tool_calls", at + ".tool_calls: must be an array");
    }
    List<ToolCalls.Call> out = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      String f = at + ".tool_calls[" + i + "]";
      JsonNode c = calls.get(i);
      JsonNode fn = c.path("function");
      if (!c.isObject() || !"function".equals(c.path("type").asText("function")) || !fn.path("name").isTextual()
          || !fn.path("arguments").isTextual()) {
        throw EdgeException.invalid(f, f + ": must be {\"id\", \"type\": \"function\", \"function\": {\"name\", "
            + "\"arguments\": a JSON string}}");
      }
      String arguments = fn.get("arguments").textValue();
      try {
        arguments = JSON.readTree(arguments).toString();
      } catch (JsonProcessingException e) {
        throw EdgeException.invalid(f + ".function.arguments", f + ".function.arguments: must be JSON text");
      }
      JsonNode id = c.get("id");
      if (id != null && !id.isNull() && !id.isTextual()) {
        throw EdgeException.invalid(f + ".id", f + ".id: must be a string");
      }
      String callId = id == null || id.isNull() ? "" : id.textValue();
      out.add(new ToolCalls.Call(fn.get("name").textValue(), arguments, callId));
    }
    String content = OpenAiRequests.content(m.get("content"), at + ".content", Role.ASSISTANT);
    return new ChatMessage(Role.ASSISTANT, ToolCalls.assistantText(content, out), "",
        Optional.of(ToolForm.of(ChatTurn.assistant(content, out))));
  }

  private static StructuredOutput responseFormat(JsonNode node) {
    if (!present(node)) {
      return StructuredOutput.TEXT;
    }
    if (!node.isObject()) {
      throw EdgeException.invalid("response_format", "response_format: must be an object with a type");
    }
    JsonNode type = node.get("type");
    if (type == null || !type.isTextual()) {
      throw EdgeException.invalid("response_format.type", "response_format.type: is required and must be a string");
    }
    return switch (type.textValue()) {
      case "text" -> StructuredOutput.TEXT;
      case "json_object" -> StructuredOutput.jsonObject();
      case "json_schema" -> {
        JsonNode js = node.get("json_schema");
        if (js == null || !js.isObject()) {
          throw EdgeException.invalid("response_format.json_schema",
              "response_format.json_schema: is required for type json_schema and must be an object");
        }
        JsonNode name = js.get("name");
        if (name == null || !name.isTextual() || !NAME.matcher(name.textValue()).matches()) {
          throw EdgeException.invalid("response_format.json_schema.name", "response_format.json_schema.name: is "
              + "required: 1 to 64 letters, digits, underscores or dashes");
        }
        JsonNode strict = js.get("strict");
        if (present(strict) && !strict.isBoolean()) {
          throw EdgeException.invalid("response_format.json_schema.strict",
              "response_format.json_schema.strict: must be true or false");
        }
        JsonNode schema = js.get("schema");
        yield StructuredOutput.jsonSchema(present(schema) ? schema : JSON.createObjectNode(),
            "response_format.json_schema.schema");
      }
      default -> throw EdgeException.invalid("response_format.type", "response_format.type: must be text, "
          + "json_object or json_schema, got '" + type.textValue() + "'");
    };
  }

  private static List<StructuredOutput.Function> functions(JsonNode tools) {
    if (!tools.isArray()) {
      throw EdgeException.invalid("tools", "tools: must be an array");
    }
    if (tools.size() > MAX_TOOLS) {
      throw EdgeException.invalid("tools", "tools: at most " + MAX_TOOLS + " tools, got " + tools.size());
    }
    List<StructuredOutput.Function> functions = new ArrayList<>();
    for (int i = 0; i < tools.size(); i++) {
      String at = "tools[" + i + "]";
      JsonNode t = tools.get(i);
      if (!t.isObject() || !"function".equals(t.path("type").asText())) {
        throw EdgeException.invalid(at + ".type", at + ".type: only \"function\" tools are supported");
      }
      JsonNode fn = t.get("function");
      if (fn == null || !fn.isObject()) {
        throw EdgeException.invalid(at + ".function", at + ".function: is required and must be an object");
      }
      JsonNode name = fn.get("name");
      if (name == null || !name.isTextual() || !NAME.matcher(name.textValue()).matches()) {
        throw EdgeException.invalid(at + ".function.name", at + ".function.name: is required: 1 to 64 letters, "
            + "digits, underscores or dashes");
      }
      JsonNode params = fn.get("parameters");
      if (present(params) && !params.isObject()) {
        throw EdgeException.invalid(at + ".function.parameters", at + ".function.parameters: must be a JSON schema "
            + "object");
      }
      functions.add(new StructuredOutput.Function(name.textValue(), present(params) ? params.toString() : ""));
    }
    return functions;
  }

  /** {@code none}, {@code auto}, {@code required}, or the named function. */
  private static String choice(JsonNode choice) {
    if (!present(choice)) {
      return "auto";
    }
    if (choice.isTextual()) {
      return switch (choice.textValue()) {
        case "none", "auto", "required" -> choice.textValue();
        default -> throw EdgeException.invalid("tool_choice", "tool_choice: must be none, auto, required or "
            + "{\"type\": \"function\", \"function\": {\"name\": …}}, got '" + choice.textValue() + "'");
      };
    }
    JsonNode name = choice.path("function").path("name");
    if (!choice.isObject() || !"function".equals(choice.path("type").asText()) || !name.isTextual()) {
      throw EdgeException.invalid("tool_choice", "tool_choice: must be none, auto, required or "
          + "{\"type\": \"function\", \"function\": {\"name\": …}}");
    }
    return name.textValue();
  }

  private static boolean present(JsonNode node) {
    return node != null && !node.isNull();
  }
}
