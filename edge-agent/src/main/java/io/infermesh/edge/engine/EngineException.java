package io.infermesh.edge.engine;

/** The engine failed to generate (a native error); the message is safe to log, not to show. */
public final class EngineException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EngineException(String message, Throwable cause) {
    super(message, cause);
  }
}
