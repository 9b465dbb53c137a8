package io.infermesh.models.tiny;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The chat template a tiny model carries in {@code tokenizer.chat_template}. */
public enum TinyChatTemplate {
  /** The standard ChatML template (no tools), which llama.cpp recognizes as {@code chatml}. */
  CHATML,
  /**
   * Qwen2.5-Instruct's own template, as its {@code tokenizer_config.json} ships it: ChatML with
   * tools listed in the system turn and calls as {@code <tool_call>} blocks (the Hermes format), so
   * a tiny model exercises a checkpoint's tool-aware Jinja template end to end.
   */
  QWEN25_TOOLS;

  /** The Jinja source. */
  public String source() {
    if (this == CHATML) {
      return TinyVocabulary.CHATML_TEMPLATE;
    }
    try (InputStream in = TinyChatTemplate.class.getResourceAsStream("qwen2.5-instruct.jinja")) {
      if (in == null) {
        throw new IllegalStateException("qwen2.5-instruct.jinja is missing from the models jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
