package io.infermesh.edge.engine;

import java.io.IOException;

/**
 * The model cannot be loaded: a missing or unreadable file, a digest that does not match {@code
 * model.sha256}, or a file llama.cpp refuses. The message says which and is meant for the user.
 */
public final class ModelLoadException extends IOException {
  private static final long serialVersionUID = 1L;

  public ModelLoadException(String message) {
    super(message);
  }

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
