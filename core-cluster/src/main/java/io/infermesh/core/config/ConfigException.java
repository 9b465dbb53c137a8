package io.infermesh.core.config;

/** A configuration value that cannot be used; the message names the key and the reason. */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public ConfigException(String key, String reason) {
    super(key + ": " + reason);
    this.key = key;
  }

  /** The offending key, dotted ({@code scheduler.max_queued}). */
  public String key() {
    return key;
  }
}
