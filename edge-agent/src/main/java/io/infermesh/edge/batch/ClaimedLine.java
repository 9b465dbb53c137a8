package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

/**
 * A line a worker holds under a lease: it runs the line and then {@link BatchStore#complete}s or
 * {@link BatchStore#release}s it; if it dies, the lease runs out and another worker claims it.
 *
 * @param batchId the batch
 * @param number its line number
 * @param customId the caller's id
 * @param body the request body
 * @param endpoint what it calls
 * @param owner who it runs as
 * @param attempt 1 for the first claim, more when a worker died holding it or released it
 */
public record ClaimedLine(String batchId, int number, String customId, String body, BatchEndpoint endpoint,
    BatchOwner owner, int attempt) {
  public ClaimedLine {
    requireNonNull(batchId, "batchId");
    requireNonNull(customId, "customId");
    requireNonNull(body, "body");
    requireNonNull(endpoint, "endpoint");
    requireNonNull(owner, "owner");
  }
}
