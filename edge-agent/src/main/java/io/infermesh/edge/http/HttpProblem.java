package io.infermesh.edge.http;

/**
 * A request refused for a reason only HTTP has (content type, body size, JSON syntax). Carries its
 * own status; rendered by {@link HttpErrors} like every other error.
 */
final class HttpProblem extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String param;

  HttpProblem(int status, String param, String message) {
    super(message);
    this.status = status;
    this.param = param;
  }

  int status() {
    return status;
  }

  String param() {
    return param;
  }
}
