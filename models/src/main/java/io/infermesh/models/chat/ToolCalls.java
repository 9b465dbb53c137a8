package io.infermesh.models.chat;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How tools and tool calls are written into a chat and read back out of an answer, in the
 * Hermes format that Qwen 2.5's own chat template uses (with shorter instructions, for small
 * contexts): the tool list in the system turn inside
 * {@code <tools></tools>}, each call as {@code <tool_call>\n{"name":…,"arguments":…}\n</tool_call>},
 * each result as a user turn inside {@code <tool_response></tool_response>}.
 *
 * <p>This is the mesh's fallback for tools ({@link #fallback}): a template that does not render
 * tools itself (the fixed templates, and a checkpoint's Jinja template whose calls are not in
 * this format) renders the chat this produces, and a model trained on another tool format reads
 * it as instructions in plain text. Answers are parsed in this format whichever template rendered
 * the prompt ({@link JinjaChatTemplate#callsInMeshFormat}). Stateless; thread-safe.
 */
public final class ToolCalls {
  /** What opens a call block (the answer's first characters when it calls a tool). */
  public static final String OPEN = "<tool_call>\n";
  /** What closes a call block. */
  public static final String CLOSE = "\n</tool_call>";
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One call.
   *
   * @param name the function's name
   * @param arguments its arguments as JSON text
   * @param id the call's id as the client knows it ({@code call_…}); empty where none is known yet
   */
  public record Call(String name, String arguments, String id) {
    public Call {
      requireNonNull(name, "name");
      requireNonNull(arguments, "arguments");
      requireNonNull(id, "id");
    }

    /** A call without an id (as parsed from an answer). */
    public Call(String name, String arguments) {
      this(name, arguments, "");
    }
  }

  private ToolCalls() {}

  /**
   * {@code turns} with {@code tools} (OpenAI tools as JSON text) in the fallback form, as plain
   * turns any template renders: the tool list appended to the first turn when it is a system turn
   * (else in a new system turn first), an assistant turn's calls as call blocks after its text, a
   * tool turn as a user turn holding {@link #toolResult}. Turns without tool parts are kept as they
   * are; with no tools and no tool parts this is {@code turns}.
   */
  public static List<ChatTurn> fallback(List<ChatTurn> turns, List<String> tools) {
    List<ChatTurn> out = new ArrayList<>(turns.size() + 1);
    int from = 0;
    if (!tools.isEmpty()) {
      boolean hasSystem = !turns.isEmpty() && turns.get(0).isSystem();
      out.add(ChatTurn.system(systemWithTools(hasSystem ? turns.get(0).content() : "", tools)));
      from = hasSystem ? 1 : 0;
    }
    for (ChatTurn t : turns.subList(from, turns.size())) {
      if (t.role().equals("tool")) {
        out.add(ChatTurn.user(toolResult(t.content())));
      } else if (!t.toolCalls().isEmpty()) {
        out.add(ChatTurn.assistant(assistantText(t.content(), t.toolCalls())));
      } else {
        out.add(t);
      }
    }
    return out;
  }

  /**
   * The system turn's text with the tool list appended: {@code system} (may be empty) and each of
   * {@code toolsJson}, an OpenAI tool ({@code {"type":"function","function":{…}}}) as JSON text.
   */
  public static String systemWithTools(String system, List<String> toolsJson) {
    StringBuilder out = new StringBuilder();
    if (!system.isEmpty()) {
      out.append(system).append("\n\n");
    }
    out.append("# Tools\n\nYou may call functions. Their signatures:\n<tools>");
    for (String t : toolsJson) {
      out.append('\n').append(t);
    }
    return out.append("\n</tools>\nTo call one, answer <tool_call>\n{\"name\": <name>, \"arguments\": <args>}\n")
        .append("</tool_call>").toString();
  }

  /** An assistant turn's text: its content (may be empty) followed by its calls. */
  public static String assistantText(String content, List<Call> calls) {
    StringBuilder out = new StringBuilder(content);
    for (Call c : calls) {
      if (!out.isEmpty()) {
        out.append('\n');
      }
      out.append(OPEN).append("{\"name\":").append(JSON.getNodeFactory().textNode(c.name()))
          .append(",\"arguments\":").append(c.arguments()).append('}').append(CLOSE);
    }
    return out.toString();
  }

  /** A tool's result, as the text of a user turn. */
  public static String toolResult(String content) {
    return "<tool_response>\n" + content + "\n</tool_response>";
  }

  /**
   * The calls in {@code answer}, if it is one or more call blocks separated by newlines (what the
   * tool grammar lets a model write); empty when it is plain text or not well-formed.
   */
  public static Optional<List<Call>> parse(String answer) {
    if (!answer.startsWith(OPEN)) {
      return Optional.empty();
    }
    List<Call> calls = new ArrayList<>();
    int at = 0;
    while (at < answer.length()) {
      if (!answer.startsWith(OPEN, at)) {
        return Optional.empty();
      }
      int end = answer.indexOf(CLOSE, at + OPEN.length());
      if (end < 0) {
        return Optional.empty();
      }
      try {
        JsonNode call = JSON.readTree(answer.substring(at + OPEN.length(), end));
        if (call == null || !call.path("name").isTextual() || !call.has("arguments")) {
          return Optional.empty();
        }
        calls.add(new Call(call.get("name").textValue(), JSON.writeValueAsString(call.get("arguments"))));
      } catch (JsonProcessingException e) {
        return Optional.empty();
      }
      at = end + CLOSE.length();
      if (at < answer.length()) {
        if (answer.charAt(at) != '\n') {
          return Optional.empty();
        }
        at++;
      }
    }
    return Optional.of(calls);
  }
}
