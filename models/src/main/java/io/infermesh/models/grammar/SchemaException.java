package io.infermesh.models.grammar;

import static java.util.Objects.requireNonNull;

/**
 * A JSON schema uses something the grammar compiler does not support, or is malformed. The
 * message names the keyword and where it is ({@code properties.city.minLength}), and is safe to
 * show a client.
 */
public final class SchemaException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final String path;

  SchemaException(String path, String message) {
    super((path.isEmpty() ? "" : path + ": ") + message);
    this.path = requireNonNull(path, "path");
  }

  /** Where in the schema (dot-separated, empty for the top), e.g. {@code properties.city.minLength}. */
  public String path() {
    return path;
  }
}
