package io.infermesh.node.config;

/**
 * A configuration value that cannot be used. The message starts with the key in dotted form
 * ({@code cache.max_bytes: must be positive, got -1}), so a user can find the line to fix.
 */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String key, String reason) {
    super(key + ": " + reason);
    this.key = key;
  }

  public ConfigException(String key, String reason, Throwable cause) {
    super(key + ": " + reason, cause);
    this.key = key;
  }

  /** The dotted key the problem is about, e.g. {@code model.context_size}. */
  public String key() {
    return key;
  }
}
