package io.infermesh.edge.batch;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where files, batches and every batch line live, durably: what a call returned has been committed,
 * so it survives the process being killed at any moment. Lines are claimed under a lease (a worker
 * id and an expiry): a worker that dies leaves its lines to be claimed again once the lease runs out
 * (at-least-once execution), and a result is kept only from the worker that holds the line's lease,
 * one per (batch, custom_id) (exactly-once results). Every read and change is scoped to a tenant:
 * another tenant's id is as absent as one that never existed. Implementations are thread-safe.
 */
public interface BatchStore extends AutoCloseable {
  /** Stores {@code content} as a new file owned by {@code tenant}. */
  StoredFile putFile(String tenant, String filename, String purpose, byte[] content, Instant now);

  /** The file {@code id} if {@code tenant} owns it. */
  Optional<StoredFile> file(String tenant, String id);

  /** The content of file {@code id} if {@code tenant} owns it (its digest checked). */
  Optional<byte[]> content(String tenant, String id);

  /** {@code tenant}'s files, newest first, after the file {@code after} (empty: from the newest), at most {@code limit}. */
  List<StoredFile> files(String tenant, Optional<String> purpose, Optional<String> after, int limit);

  /** Deletes file {@code id}; false when {@code tenant} owns no such file. */
  boolean deleteFile(String tenant, String id);

  /** What {@link #createBatch} needs besides the lines. */
  record NewBatch(String tenant, BatchOwner owner, BatchEndpoint endpoint, String inputFileId,
      String completionWindow, Map<String, String> metadata, Instant now, Instant expiresAt) {}

  /** Creates a batch in progress with {@code lines} pending, all in one transaction. */
  Batch createBatch(NewBatch batch, List<InputLine> lines);

  /** The batch {@code id} if {@code tenant} owns it. */
  Optional<Batch> batch(String tenant, String id);

  /** {@code tenant}'s batches, newest first, after the batch {@code after}, at most {@code limit}. */
  List<Batch> batches(String tenant, Optional<String> after, int limit);

  /**
   * Starts cancelling batch {@code id}: no line of it is claimed any more; the lines running end,
   * then it is {@code cancelled}. A batch already finished is returned unchanged.
   */
  Optional<Batch> cancel(String tenant, String id, Instant now);

  /** Claims the next pending line (or one whose lease ran out) of a batch in progress, oldest batch first. */
  Optional<ClaimedLine> claim(String worker, Instant now, Duration lease);

  /**
   * Records {@code line}'s result (an output line, JSON) if {@code worker} still holds it; returns
   * whether it was kept (false: its lease ran out and another worker took it over).
   */
  boolean complete(ClaimedLine line, String worker, boolean failed, String result);

  /** Gives {@code line} back unanswered (its engine was busy, say), to be claimed again. */
  void release(ClaimedLine line, String worker);

  /**
   * Moves batches on that have nothing left to run: in progress with every line answered, or
   * cancelling with none running, or past their expiry. Writes their output and error files and
   * their final status in one transaction each; returns how many finished.
   */
  int finishDue(Instant now);

  @Override
  void close();
}
