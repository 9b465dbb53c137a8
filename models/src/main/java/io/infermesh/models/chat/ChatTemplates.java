package io.infermesh.models.chat;

import io.infermesh.models.jinja.JinjaException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chat templates the mesh knows, and the choice among them from a model's metadata: the
 * Jinja source in {@code tokenizer.chat_template} is recognised by its markers (llama.cpp does the
 * same), or run itself ({@link JinjaChatTemplate}); an unknown or missing template falls back to
 * ChatML. Stateless; thread-safe.
 */
public final class ChatTemplates {
  /** The template used when the model's own cannot be recognised. */
  public static final ChatTemplate FALLBACK = new ChatMl();
  private static final Logger log = LoggerFactory.getLogger(ChatTemplates.class);

  private ChatTemplates() {}

  /**
   * The template called {@code name}: {@code chatml}, {@code llama3}, {@code llama2}, {@code
   * gemma} or {@code phi3}.
   *
   * @throws IllegalArgumentException for another name
   */
  public static ChatTemplate named(String name) {
    return switch (name) {
      case "chatml" -> new ChatMl();
      case "llama3" -> new Llama3();
      case "llama2" -> new Llama2();
      case "gemma" -> new Gemma();
      case "phi3" -> new Phi3();
      default -> throw new IllegalArgumentException("unknown chat template '" + name + "'");
    };
  }

  /** The template whose markers {@code jinjaSource} uses, if it is one the mesh knows. */
  public static Optional<ChatTemplate> detect(String jinjaSource) {
    if (jinjaSource == null || jinjaSource.isBlank()) {
      return Optional.empty();
    }
    if (jinjaSource.contains("<|im_start|>")) {
      return Optional.of(new ChatMl());
    }
    if (jinjaSource.contains("<|start_header_id|>")) {
      return Optional.of(new Llama3());
    }
    if (jinjaSource.contains("<start_of_turn>")) {
      return Optional.of(new Gemma());
    }
    if (jinjaSource.contains("<|assistant|>") && jinjaSource.contains("<|end|>")) {
      return Optional.of(new Phi3());
    }
    if (jinjaSource.contains("[INST]")) {
      return Optional.of(new Llama2());
    }
    return Optional.empty();
  }

  /**
   * The template for a model whose checkpoint ships {@code source} (Jinja; its {@code bos_token}
   * and {@code eos_token} are {@code bosToken} and {@code eosToken}), as {@code configured}:
   *
   * <ul>
   *   <li>{@code auto}: the fixed template whose markers {@code source} uses (else {@link
   *       #FALLBACK}); chats with tools are rendered by {@code source} itself when it renders tools
   *       in the format the mesh parses ({@link JinjaChatTemplate#callsInMeshFormat}), else in the
   *       fallback form. A source this engine cannot parse is logged and left aside.
   *   <li>{@code checkpoint}: {@code source} renders every chat (tools as {@link
   *       JinjaChatTemplate#render} says).
   *   <li>a name ({@link #named}): that fixed template, tools in the fallback form.
   * </ul>
   *
   * @throws IllegalArgumentException for an unknown name, or {@code checkpoint} with no source
   * @throws io.infermesh.models.jinja.JinjaException for {@code checkpoint} with a source this
   *     engine cannot parse
   */
  public static ChatTemplate choose(String configured, Optional<String> source, String bosToken, String eosToken) {
    Optional<String> jinja = source.filter(s -> !s.isBlank());
    if ("checkpoint".equals(configured)) {
      return JinjaChatTemplate.builder(jinja.orElseThrow(() -> new IllegalArgumentException(
          "the model has no chat template of its own (tokenizer.chat_template) to use"))).bosToken(bosToken)
          .eosToken(eosToken).build();
    }
    if (!"auto".equals(configured)) {
      return named(configured);
    }
    ChatTemplate plain = jinja.flatMap(ChatTemplates::detect).orElse(FALLBACK);
    if (jinja.isEmpty()) {
      return plain;
    }
    try {
      JinjaChatTemplate own = JinjaChatTemplate.builder(jinja.get()).bosToken(bosToken).eosToken(eosToken).build();
      return own.callsInMeshFormat() ? new CheckpointTools(plain, own) : plain;
    } catch (JinjaException e) {
      log.warn("the model's chat template cannot be run here ({}); chats render with {}, tools in the fallback form",
          e.getMessage(), plain.name());
      return plain;
    }
  }

  /** {@link #choose} for a checkpoint without special tokens in its template. */
  public static ChatTemplate choose(String configured, Optional<String> source) {
    return choose(configured, source, "", "");
  }

  /** A fixed template for plain chats, the checkpoint's own for chats with tools. */
  static final class CheckpointTools implements ChatTemplate {
    private final ChatTemplate plain;
    private final JinjaChatTemplate own;

    CheckpointTools(ChatTemplate plain, JinjaChatTemplate own) {
      this.plain = plain;
      this.own = own;
    }

    @Override
    public String name() {
      return plain.name();
    }

    @Override
    public String toolRendering() {
      return "checkpoint";
    }

    @Override
    public String render(List<ChatTurn> turns, List<String> tools) {
      boolean toolChat = !tools.isEmpty() || turns.stream().anyMatch(ChatTurn::involvesTools);
      return toolChat ? own.render(turns, tools) : plain.render(turns, tools);
    }
  }

  /**
   * A template written in Java: tools, calls and results reach it in the fallback form ({@link
   * ToolCalls#fallback}), as plain turns.
   */
  abstract static class Fixed implements ChatTemplate {
    @Override
    public final String render(List<ChatTurn> turns, List<String> tools) {
      return renderPlain(ToolCalls.fallback(turns, tools));
    }

    /** {@code turns}, none of which has tool parts. */
    abstract String renderPlain(List<ChatTurn> turns);
  }

  /** {@code <|im_start|>role\ncontent<|im_end|>\n} … {@code <|im_start|>assistant\n}. */
  static final class ChatMl extends RoleTagged {
    ChatMl() {
      super("chatml", role -> "<|im_start|>" + role + "\n", "<|im_end|>\n", false);
    }
  }

  /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
  static final class Llama3 extends RoleTagged {
    Llama3() {
      super("llama3", role -> "<|start_header_id|>" + role + "<|end_header_id|>\n\n", "<|eot_id|>", true);
    }
  }

  /** Phi-3: {@code <|role|>\ncontent<|end|>\n} … {@code <|assistant|>\n}. */
  static final class Phi3 extends RoleTagged {
    Phi3() {
      super("phi3", role -> "<|" + role + "|>\n", "<|end|>\n", false);
    }
  }

  /**
   * The templates that wrap every turn the same way: a header naming the role, the content
   * (stripped for some families), an end marker; then the assistant's header.
   */
  abstract static class RoleTagged extends Fixed {
    private final String name;
    private final Function<String, String> header;
    private final String end;
    private final boolean strip;

    RoleTagged(String name, Function<String, String> header, String end, boolean strip) {
      this.name = name;
      this.header = header;
      this.end = end;
      this.strip = strip;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    String renderPlain(List<ChatTurn> turns) {
      StringBuilder out = new StringBuilder();
      for (ChatTurn t : turns) {
        out.append(header.apply(t.role())).append(strip ? t.content().strip() : t.content()).append(end);
      }
      return out.append(header.apply("assistant")).toString();
    }
  }

  /** Llama 2 / Mistral: {@code [INST] <<SYS>>…<</SYS>> user [/INST] assistant</s>}. */
  static final class Llama2 extends Fixed {
    @Override
    public String name() {
      return "llama2";
    }

    @Override
    String renderPlain(List<ChatTurn> turns) {
      StringBuilder out = new StringBuilder();
      String system = null;
      boolean first = true;
      for (ChatTurn t : turns) {
        if (t.isSystem()) {
          system = system == null ? t.content().strip() : system + "\n" + t.content().strip();
        } else if (t.isUser()) {
          if (!first) {
            out.append("<s>");
          }
          out.append("[INST] ");
          if (system != null) {
            out.append("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n");
            system = null;
          }
          out.append(t.content().strip()).append(" [/INST]");
          first = false;
        } else {
          out.append(' ').append(t.content().strip()).append(" </s>");
        }
      }
      return out.toString();
    }
  }

  /** Gemma: {@code <start_of_turn>user\n…<end_of_turn>\n}; the system turn joins the first user turn. */
  static final class Gemma extends Fixed {
    @Override
    public String name() {
      return "gemma";
    }

    @Override
    String renderPlain(List<ChatTurn> turns) {
      StringBuilder out = new StringBuilder();
      List<String> pendingSystem = new ArrayList<>();
      for (ChatTurn t : turns) {
        if (t.isSystem()) {
          pendingSystem.add(t.content().strip());
          continue;
        }
        out.append("<start_of_turn>").append(t.isAssistant() ? "model" : "user").append('\n');
        if (t.isUser() && !pendingSystem.isEmpty()) {
          out.append(String.join("\n", pendingSystem)).append("\n\n");
          pendingSystem.clear();
        }
        out.append(t.content().strip()).append("<end_of_turn>\n");
      }
      if (!pendingSystem.isEmpty()) {
        out.append("<start_of_turn>user\n").append(String.join("\n", pendingSystem)).append("<end_of_turn>\n");
      }
      return out.append("<start_of_turn>model\n").toString();
    }
  }
}
