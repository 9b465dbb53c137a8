package io.infermesh.models.gguf;

import java.io.IOException;

/**
 * A file is not a GGUF file this reader can use: bad magic, an unsupported version, truncated
 * or inconsistent contents. The message names the file, what was being read and where.
 */
public final class GgufFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public GgufFormatException(String message) {
    super(message);
  }

  public GgufFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
