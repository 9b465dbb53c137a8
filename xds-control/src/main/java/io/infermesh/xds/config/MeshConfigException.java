package io.infermesh.xds.config;

/** {@code mesh.yaml} is unreadable or invalid; the message names the file, the key and the reason. */
public final class MeshConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public MeshConfigException(String message) {
    super(message);
  }

  public MeshConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
