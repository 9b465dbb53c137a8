package io.infermesh.core.lifecycle;

import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTemplates;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.Optional;

/**
 * The chat template of a loaded model: the family its own Jinja template names, else the one its
 * vocabulary was built for (Llama 3 header tokens), else ChatML — the same markers llama.cpp
 * looks for, so the edge and the core render one chat alike.
 */
final class ChatTemplateChoice {
  private ChatTemplateChoice() {}

  static ChatTemplate of(Optional<String> jinjaSource, Tokenizer tokenizer) {
    return jinjaSource.flatMap(ChatTemplates::detect).orElseGet(() ->
        tokenizer.tokenId("<|start_header_id|>").isPresent() ? ChatTemplates.named("llama3") : ChatTemplates.FALLBACK);
  }
}
