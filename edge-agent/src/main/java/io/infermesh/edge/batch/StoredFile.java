package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

/**
 * A file in the store ({@code GET /v1/files/{id}}): what the tenant uploaded, or a batch's output or
 * error file.
 *
 * @param id {@code file-…}
 * @param tenant its owner; no other tenant sees it
 * @param filename the name it was uploaded under
 * @param purpose {@code batch} (uploaded), {@code batch_output} (written by a batch)
 * @param bytes its size
 * @param sha256 hex digest of its content, checked when it is read back
 * @param createdAt Unix seconds
 */
public record StoredFile(String id, String tenant, String filename, String purpose, long bytes, String sha256,
    long createdAt) {
  public StoredFile {
    requireNonNull(id, "id");
    requireNonNull(tenant, "tenant");
    requireNonNull(filename, "filename");
    requireNonNull(purpose, "purpose");
    requireNonNull(sha256, "sha256");
  }
}
