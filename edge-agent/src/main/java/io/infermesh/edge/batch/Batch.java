package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.OptionalLong;

/**
 * A batch as stored ({@code GET /v1/batches/{id}}), with its lines counted.
 *
 * @param id {@code batch_…}
 * @param tenant its owner; no other tenant sees it
 * @param owner what the lines run as: the tenant's caller and privacy policy ({@link BatchOwner})
 * @param endpoint what every line calls
 * @param inputFileId the uploaded file
 * @param completionWindow as sent ({@code 24h})
 * @param status where it is
 * @param outputFileId the answered lines, once finished
 * @param errorFileId the failed lines, once finished, if any failed
 * @param metadata up to 16 string pairs, as sent
 * @param times Unix seconds of each status reached (OpenAI's {@code *_at} fields)
 * @param total lines in the batch
 * @param completed lines answered with 2xx
 * @param failed lines answered otherwise (or left when the batch expired or was cancelled)
 */
public record Batch(String id, String tenant, BatchOwner owner, BatchEndpoint endpoint, String inputFileId,
    String completionWindow, BatchStatus status, String outputFileId, String errorFileId,
    Map<String, String> metadata, Times times, int total, int completed, int failed) {
  public Batch {
    requireNonNull(id, "id");
    requireNonNull(tenant, "tenant");
    requireNonNull(owner, "owner");
    requireNonNull(endpoint, "endpoint");
    requireNonNull(inputFileId, "inputFileId");
    requireNonNull(status, "status");
    metadata = Map.copyOf(metadata);
    requireNonNull(times, "times");
  }

  /**
   * When each status was reached, in Unix seconds; empty until then.
   *
   * @param createdAt when the batch was created
   * @param expiresAt when it expires unless finished
   */
  public record Times(long createdAt, long expiresAt, OptionalLong inProgressAt, OptionalLong finalizingAt,
      OptionalLong completedAt, OptionalLong failedAt, OptionalLong expiredAt, OptionalLong cancellingAt,
      OptionalLong cancelledAt) {}
}
