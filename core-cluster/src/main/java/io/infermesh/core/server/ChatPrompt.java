package io.infermesh.core.server;

import io.infermesh.api.v1.ChatMessage;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.List;

/**
 * Renders a chat into prompt text in the format the vocabulary was trained for: Llama 3 headers
 * when the vocabulary has {@code <|start_header_id|>}, otherwise ChatML
 * ({@code <|im_start|>role\ncontent<|im_end|>}), ending with the assistant's open turn. The text is
 * tokenized with special tokens parsed.
 */
final class ChatPrompt {
  private ChatPrompt() {}

  static String render(List<ChatMessage> messages, Tokenizer tokenizer) {
    StringBuilder sb = new StringBuilder();
    boolean llama3 = tokenizer.tokenId("<|start_header_id|>").isPresent();
    for (ChatMessage m : messages) {
      if (llama3) {
        sb.append("<|start_header_id|>").append(m.getRole()).append("<|end_header_id|>\n\n")
            .append(m.getContent()).append("<|eot_id|>");
      } else {
        sb.append("<|im_start|>").append(m.getRole()).append('\n').append(m.getContent()).append("<|im_end|>\n");
      }
    }
    sb.append(llama3 ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "<|im_start|>assistant\n");
    return sb.toString();
  }
}
