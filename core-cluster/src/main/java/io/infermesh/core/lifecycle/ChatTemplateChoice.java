package io.infermesh.core.lifecycle;

import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTemplates;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The chat template of a loaded model: the family its own Jinja template names, else the one its
 * vocabulary was built for (Llama 3 header tokens), else ChatML — the same markers llama.cpp
 * looks for, so the edge and the core render one chat alike. Chats with tools are rendered by the
 * model's own template when it writes calls as the mesh parses them ({@code <tool_call>} blocks),
 * as on the edge under {@code model.chat_template: auto}.
 */
final class ChatTemplateChoice {
  private ChatTemplateChoice() {}

  static ChatTemplate of(Optional<String> jinjaSource, Tokenizer tokenizer) {
    if (jinjaSource.flatMap(ChatTemplates::detect).isEmpty()) {
      return tokenizer.tokenId("<|start_header_id|>").isPresent() ? ChatTemplates.named("llama3")
          : ChatTemplates.FALLBACK;
    }
    return ChatTemplates.choose("auto", jinjaSource, text(tokenizer, tokenizer.specialTokens().bos()),
        text(tokenizer, tokenizer.specialTokens().eos()));
  }

  private static String text(Tokenizer tokenizer, OptionalInt token) {
    return token.isPresent() ? tokenizer.tokenText(token.getAsInt()) : "";
  }
}
