package io.infermesh.models.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The chat templates the mesh knows, and the choice among them from a model's metadata: the
 * Jinja source in {@code tokenizer.chat_template} is recognised by its markers (llama.cpp does the
 * same); an unknown or missing template falls back to ChatML. Stateless; thread-safe.
 */
public final class ChatTemplates {
  /** The template used when the model's own cannot be recognised. */
  public static final ChatTemplate FALLBACK = new ChatMl();

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
   * The template for a model: {@code configured} unless it is {@code auto}, else the one detected
   * in {@code metadataTemplate}, else {@link #FALLBACK}.
   */
  public static ChatTemplate choose(String configured, Optional<String> metadataTemplate) {
    if (!"auto".equals(configured)) {
      return named(configured);
    }
    return metadataTemplate.flatMap(ChatTemplates::detect).orElse(FALLBACK);
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
  abstract static class RoleTagged implements ChatTemplate {
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
    public String render(List<ChatTurn> turns) {
      StringBuilder out = new StringBuilder();
      for (ChatTurn t : turns) {
        out.append(header.apply(t.role())).append(strip ? t.content().strip() : t.content()).append(end);
      }
      return out.append(header.apply("assistant")).toString();
    }
  }

  /** Llama 2 / Mistral: {@code [INST] <<SYS>>…<</SYS>> user [/INST] assistant</s>}. */
  static final class Llama2 implements ChatTemplate {
    @Override
    public String name() {
      return "llama2";
    }

    @Override
    public String render(List<ChatTurn> turns) {
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
  static final class Gemma implements ChatTemplate {
    @Override
    public String name() {
      return "gemma";
    }

    @Override
    public String render(List<ChatTurn> turns) {
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
