package io.infermesh.edge.batch;

import java.util.Optional;

/** The endpoints a batch's lines may call: every line of one batch calls the batch's one endpoint. */
public enum BatchEndpoint {
  CHAT_COMPLETIONS("/v1/chat/completions"),
  COMPLETIONS("/v1/completions"),
  EMBEDDINGS("/v1/embeddings");

  private final String path;

  BatchEndpoint(String path) {
    this.path = path;
  }

  /** The URL path, as a batch and its lines name it. */
  public String path() {
    return path;
  }

  /** The endpoint at {@code path}, if batches may call it. */
  public static Optional<BatchEndpoint> of(String path) {
    for (BatchEndpoint e : values()) {
      if (e.path.equals(path)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }
}
