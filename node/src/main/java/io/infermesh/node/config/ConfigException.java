package io.infermesh.node.config;

/**
 * A configuration value that cannot be used. The message is the file (once known), the full key
 * in dotted form and the reason, in one style for {@code edge.yaml}, {@code core.yaml} and {@code
 * mesh.yaml} ({@code mesh.yaml: burst.high_watermrk: unknown key}), so a user can find the line to
 * fix. Records and builders throw it with the key alone; the loader adds the file with {@link
 * #inFile}.
 */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String file;
  private final String key;
  private final String reason;

  public ConfigException(String key, String reason) {
    this(null, key, reason, null);
  }

  public ConfigException(String key, String reason, Throwable cause) {
    this(null, key, reason, cause);
  }

  private ConfigException(String file, String key, String reason, Throwable cause) {
    super((file == null ? "" : file + ": ") + key + ": " + reason, cause);
    this.file = file;
    this.key = key;
    this.reason = reason;
  }

  /** This error as found in {@code file} (the path as the user gave it), which the message now starts with. */
  public ConfigException inFile(String file) {
    ConfigException e = new ConfigException(file, key, reason, getCause());
    e.setStackTrace(getStackTrace());
    return e;
  }

  /** The dotted key the problem is about, e.g. {@code model.context_size}, without the file. */
  public String key() {
    return key;
  }

  /** Why the value cannot be used, e.g. {@code must be positive, got -1}. */
  public String reason() {
    return reason;
  }
}
