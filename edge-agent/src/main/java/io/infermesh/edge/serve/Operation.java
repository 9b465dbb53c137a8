package io.infermesh.edge.serve;

/** What a request asks for. */
public enum Operation {
  /** A chat, rendered with the model's chat template ({@code /v1/chat/completions}). */
  CHAT("chat"),
  /** A raw prompt, used as is ({@code /v1/completions}). */
  TEXT_COMPLETION("text_completion");

  private final String semanticName;

  Operation(String semanticName) {
    this.semanticName = semanticName;
  }

  /** The {@code gen_ai.operation.name} value. */
  public String semanticName() {
    return semanticName;
  }
}
