package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.serve.EdgeException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Files and Batch APIs without their transport: every call is a tenant's, checked before it
 * reaches the {@link BatchStore}, and sees only that tenant's objects (another tenant's id is
 * NOT_FOUND, as an unknown one). Refusals are {@link EdgeException}s naming the field. Thread-safe.
 */
public final class BatchService {
  /** The one completion window OpenAI accepts. */
  public static final String WINDOW = "24h";
  /** Metadata bounds, OpenAI's. */
  public static final int MAX_METADATA = 16;
  static final int MAX_METADATA_KEY = 64;
  static final int MAX_METADATA_VALUE = 512;
  static final int MAX_FILENAME = 512;

  private final BatchStore store;
  private final Batches config;
  private final long maxBodyBytes;
  private final Clock clock;
  private final Runnable created;

  /**
   * @param maxBodyBytes the largest request body a line may carry ({@code http.max_body_bytes})
   * @param created called after a batch is created (wakes the workers)
   */
  public BatchService(BatchStore store, Batches config, long maxBodyBytes, Clock clock, Runnable created) {
    this.store = requireNonNull(store, "store");
    this.config = requireNonNull(config, "config");
    this.maxBodyBytes = maxBodyBytes;
    this.clock = requireNonNull(clock, "clock");
    this.created = requireNonNull(created, "created");
  }

  /** The largest file {@link #upload} takes ({@code batch.max_file_bytes}). */
  public long maxFileBytes() {
    return config.maxFileBytes();
  }

  /** Stores an uploaded file. */
  public StoredFile upload(Tenant tenant, String filename, String purpose, byte[] content) {
    if (!"batch".equals(purpose)) {
      throw EdgeException.invalid("purpose", "purpose: must be batch (the only purpose this server stores), got '"
          + purpose + "'");
    }
    if (filename.isEmpty() || filename.length() > MAX_FILENAME || filename.chars().anyMatch(c -> c < 0x20)) {
      throw EdgeException.invalid("file", "file: the file name must be 1 to " + MAX_FILENAME
          + " characters without control characters");
    }
    if (content.length > config.maxFileBytes()) {
      throw EdgeException.invalid("file", "file: larger than " + config.maxFileBytes() + " bytes (batch.max_file_bytes)");
    }
    if (content.length == 0) {
      throw EdgeException.invalid("file", "file: is empty");
    }
    return store.putFile(tenant.name(), filename, purpose, content, clock.instant());
  }

  public StoredFile file(Tenant tenant, String id) {
    return store.file(tenant.name(), id).orElseThrow(() -> noSuchFile(id));
  }

  public byte[] content(Tenant tenant, String id) {
    return store.content(tenant.name(), id).orElseThrow(() -> noSuchFile(id));
  }

  public List<StoredFile> files(Tenant tenant, Optional<String> purpose, Optional<String> after, int limit) {
    return store.files(tenant.name(), purpose, after, limit);
  }

  public void deleteFile(Tenant tenant, String id) {
    if (!store.deleteFile(tenant.name(), id)) {
      throw noSuchFile(id);
    }
  }

  /**
   * Creates a batch over {@code inputFileId}'s lines, every line checked first ({@link BatchInput}).
   *
   * @throws EdgeException INVALID_ARGUMENT naming the field, or the input file's bad line; NOT_FOUND
   *     for a file that is not the tenant's
   */
  public Batch create(Tenant tenant, String inputFileId, String endpoint, String completionWindow,
      Map<String, String> metadata) {
    BatchEndpoint target = BatchEndpoint.of(endpoint).orElseThrow(() -> EdgeException.invalid("endpoint",
        "endpoint: must be /v1/chat/completions, /v1/completions or /v1/embeddings, got '" + endpoint + "'"));
    if (!WINDOW.equals(completionWindow)) {
      throw EdgeException.invalid("completion_window", "completion_window: must be 24h, got '" + completionWindow + "'");
    }
    checkMetadata(metadata);
    StoredFile file = store.file(tenant.name(), inputFileId).orElseThrow(() -> noSuchFile(inputFileId));
    if (!file.purpose().equals("batch")) {
      throw EdgeException.invalid("input_file_id", "input_file_id: " + inputFileId + " has purpose " + file.purpose()
          + ", not batch");
    }
    byte[] content = store.content(tenant.name(), inputFileId).orElseThrow(() -> noSuchFile(inputFileId));
    List<InputLine> lines = BatchInput.read(content, target, config.maxLines(), maxBodyBytes);
    Instant now = clock.instant();
    BatchOwner owner = new BatchOwner(tenant.name(), tenant.caller(), tenant.privacyPolicy());
    Batch batch = store.createBatch(new BatchStore.NewBatch(tenant.name(), owner, target, inputFileId,
        completionWindow, metadata, now, now.plus(config.completionWindow())), lines);
    created.run();
    return batch;
  }

  public Batch batch(Tenant tenant, String id) {
    return store.batch(tenant.name(), id).orElseThrow(() -> noSuchBatch(id));
  }

  public List<Batch> batches(Tenant tenant, Optional<String> after, int limit) {
    return store.batches(tenant.name(), after, limit);
  }

  public Batch cancel(Tenant tenant, String id) {
    return store.cancel(tenant.name(), id, clock.instant()).orElseThrow(() -> noSuchBatch(id));
  }

  static void checkMetadata(Map<String, String> metadata) {
    if (metadata.size() > MAX_METADATA) {
      throw EdgeException.invalid("metadata", "metadata: at most " + MAX_METADATA + " pairs, got " + metadata.size());
    }
    metadata.forEach((k, v) -> {
      if (k.length() > MAX_METADATA_KEY || v.length() > MAX_METADATA_VALUE) {
        throw EdgeException.invalid("metadata", "metadata: keys are at most " + MAX_METADATA_KEY
            + " characters and values at most " + MAX_METADATA_VALUE);
      }
    });
  }

  private static EdgeException noSuchFile(String id) {
    return EdgeException.notFound("No such File object: " + id);
  }

  private static EdgeException noSuchBatch(String id) {
    return EdgeException.notFound("No batch found with id '" + id + "'.");
  }

  @Override
  public String toString() {
    return "BatchService{" + store + "}";
  }
}
