package io.infermesh.edge.engine;

/**
 * The model's chat template refused the chat (its own {@code raise_exception}, e.g. roles that do
 * not alternate) or could not render it. The message is the template's and safe to show a client:
 * the request is invalid for this model.
 */
public final class PromptException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PromptException(String message, Throwable cause) {
    super(message, cause);
  }
}
