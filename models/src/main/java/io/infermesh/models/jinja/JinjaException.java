package io.infermesh.models.jinja;

/**
 * A template that cannot be parsed or rendered: a syntax error, a construct this engine does not
 * run, a type error while rendering, or the template's own {@code raise_exception(...)}. The
 * message names the line where it is known.
 */
public final class JinjaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public JinjaException(String message) {
    super(message);
  }

  static JinjaException at(int line, String message) {
    return new JinjaException("line " + line + ": " + message);
  }
}
