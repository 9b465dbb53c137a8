package io.infermesh.edge.batch;

/** The store failed (the database refused or went away); the operation did not happen. */
public final class BatchStoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  BatchStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
