package io.infermesh.models.chat;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.models.jinja.JinjaException;
import io.infermesh.models.jinja.JinjaFunction;
import io.infermesh.models.jinja.JinjaTemplate;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A checkpoint's own chat template ({@code tokenizer.chat_template} in GGUF, {@code chat_template}
 * in a Hugging Face {@code tokenizer_config.json}) run the way transformers' {@code
 * apply_chat_template} runs it: messages as OpenAI dicts ({@code role}, {@code content}, an
 * assistant's {@code tool_calls} with {@code arguments} as a JSON object, a tool turn's {@code
 * tool_call_id}), {@code tools} as sent (none when no tools are offered), {@code
 * add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the globals {@code
 * raise_exception} and {@code strftime_now}.
 *
 * <p>{@link #render} follows the {@link ChatTemplate} contract: a leading {@code bos_token} is cut
 * (the tokenizer adds it, as llama.cpp does for Jinja templates), and tools render through the
 * template only when its calls are in the format the mesh parses and constrains ({@link
 * #callsInMeshFormat}); otherwise the chat is rendered in the mesh's fallback form ({@link
 * ToolCalls#fallback}) through this template as plain turns. {@link #apply} is the exact
 * transformers output. Immutable; thread-safe.
 */
public final class JinjaChatTemplate implements ChatTemplate {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern MENTIONS_TOOLS = Pattern.compile("\\btools\\b");
  private final JinjaTemplate template;
  private final String bosToken;
  private final String eosToken;
  private final Clock clock;
  private final boolean callsInMeshFormat;

  private JinjaChatTemplate(Builder b) {
    this.template = JinjaTemplate.parse(b.source);
    this.bosToken = b.bosToken;
    this.eosToken = b.eosToken;
    this.clock = b.clock;
    // Hermes calls: <tool_call> around {"name": …, "arguments": …}, not Qwen3-Coder's <function=…> inside it
    this.callsInMeshFormat = MENTIONS_TOOLS.matcher(b.source).find() && b.source.contains("<tool_call>")
        && b.source.contains("\"arguments\"") && !b.source.contains("<function=");
  }

  /** A builder for the template {@code source} (Jinja). */
  public static Builder builder(String source) {
    return new Builder(source);
  }

  @Override
  public String name() {
    return "checkpoint";
  }

  @Override
  public String toolRendering() {
    return callsInMeshFormat ? "checkpoint" : "fallback";
  }

  /**
   * Whether the template renders tools and writes calls as the mesh reads them: it uses {@code
   * tools} and writes {@code <tool_call>} blocks of {@code {"name": …, "arguments": …}} JSON (the
   * Hermes format of Qwen 2.5, Qwen 3, Hermes 2/3 and others; not Qwen3-Coder's {@code
   * <function=…>} inside the block), told from the source's text as llama.cpp tells formats. Other
   * families (Llama 3.1's {@code {"name":…,"parameters":…}}, Mistral's {@code [TOOL_CALLS]}) keep
   * the fallback for tools, since answers are parsed and constrained in the Hermes format.
   */
  public boolean callsInMeshFormat() {
    return callsInMeshFormat;
  }

  @Override
  public String render(List<ChatTurn> turns, List<String> tools) {
    boolean toolChat = !tools.isEmpty() || turns.stream().anyMatch(ChatTurn::involvesTools);
    String text = toolChat && !callsInMeshFormat ? apply(ToolCalls.fallback(turns, tools), List.of(), true)
        : apply(turns, tools, true);
    return !bosToken.isEmpty() && text.startsWith(bosToken) ? text.substring(bosToken.length()) : text;
  }

  /**
   * The template's output for {@code turns} and {@code tools} exactly as transformers' {@code
   * apply_chat_template(messages, tools=tools, add_generation_prompt=…, tokenize=False)} gives it.
   *
   * @throws JinjaException when the template raises or fails
   * @throws IllegalArgumentException when a tool or a call's arguments are not JSON
   */
  public String apply(List<ChatTurn> turns, List<String> tools, boolean addGenerationPrompt) {
    Map<String, Object> vars = new HashMap<>();
    List<Object> messages = new ArrayList<>(turns.size());
    for (ChatTurn t : turns) {
      messages.add(message(t));
    }
    vars.put("messages", messages);
    List<Object> toolValues = new ArrayList<>(tools.size());
    for (String t : tools) {
      toolValues.add(json(t, "a tool"));
    }
    vars.put("tools", tools.isEmpty() ? null : toolValues);
    vars.put("documents", null);
    vars.put("add_generation_prompt", addGenerationPrompt);
    vars.put("bos_token", bosToken);
    vars.put("eos_token", eosToken);
    vars.put("raise_exception", (JinjaFunction) (args, kwargs) -> {
      throw new JinjaException(args.isEmpty() ? "the chat template refused the chat" : String.valueOf(args.get(0)));
    });
    vars.put("strftime_now", (JinjaFunction) (args, kwargs) -> strftime(String.valueOf(args.get(0)),
        ZonedDateTime.now(clock)));
    return template.render(vars);
  }

  /** A turn as the dict transformers hands a template. */
  private static Map<String, Object> message(ChatTurn t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", t.role());
    // OpenAI sends null content beside tool calls; templates test it for truth or none
    m.put("content", t.content().isEmpty() && !t.toolCalls().isEmpty() ? null : t.content());
    if (!t.toolCalls().isEmpty()) {
      List<Object> calls = new ArrayList<>();
      for (ToolCalls.Call c : t.toolCalls()) {
        Map<String, Object> call = new LinkedHashMap<>();
        if (!c.id().isEmpty()) {
          call.put("id", c.id());
        }
        call.put("type", "function");
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", c.name());
        function.put("arguments", json(c.arguments(), "a call's arguments")); // templates expect an object
        call.put("function", function);
        calls.add(call);
      }
      m.put("tool_calls", calls);
    }
    if (t.role().equals("tool")) {
      m.put("tool_call_id", t.toolCallId());
    }
    return m;
  }

  private static Object json(String text, String what) {
    try {
      return JSON.readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(what + " is not JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Python's {@code strftime} for the directives templates use ({@code %d %b %Y} and the like). */
  static String strftime(String format, ZonedDateTime t) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 == format.length()) {
        out.append(c);
        continue;
      }
      char d = format.charAt(++i);
      switch (d) {
        case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
        case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
        case 'Y' -> out.append(t.getYear());
        case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
        case 'b' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'H' -> out.append(String.format("%02d", t.getHour()));
        case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
        case 'M' -> out.append(String.format("%02d", t.getMinute()));
        case 'S' -> out.append(String.format("%02d", t.getSecond()));
        case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
        case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
        case '%' -> out.append('%');
        default -> out.append('%').append(d);
      }
    }
    return out.toString();
  }

  /** Builds a {@link JinjaChatTemplate}; the special tokens default to empty, the clock to UTC. */
  public static final class Builder {
    private final String source;
    private String bosToken = "";
    private String eosToken = "";
    private Clock clock = Clock.systemUTC();

    private Builder(String source) {
      this.source = requireNonNull(source, "source");
    }

    /** The model's beginning-of-sequence token text (the template's {@code bos_token}). */
    public Builder bosToken(String bosToken) {
      this.bosToken = requireNonNull(bosToken, "bosToken");
      return this;
    }

    /** The model's end-of-sequence token text (the template's {@code eos_token}). */
    public Builder eosToken(String eosToken) {
      this.eosToken = requireNonNull(eosToken, "eosToken");
      return this;
    }

    /** The clock behind {@code strftime_now}. */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The template.
     *
     * @throws JinjaException when the source is not a template this engine runs
     */
    public JinjaChatTemplate build() {
      return new JinjaChatTemplate(this);
    }
  }
}
