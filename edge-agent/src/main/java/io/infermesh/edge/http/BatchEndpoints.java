package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.batch.Batch;
import io.infermesh.edge.batch.BatchService;
import io.infermesh.edge.batch.StoredFile;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.EdgeException;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;

/**
 * OpenAI's Files and Batch APIs: {@code POST /v1/files} (multipart: {@code file}, {@code purpose:
 * batch}; bounded by {@code batch.max_file_bytes}), {@code GET /v1/files}, {@code GET
 * /v1/files/{id}}, {@code GET /v1/files/{id}/content}, {@code DELETE /v1/files/{id}}, {@code POST
 * /v1/batches}, {@code GET /v1/batches/{id}}, {@code GET /v1/batches} ({@code after}, {@code
 * limit}), {@code POST /v1/batches/{id}/cancel}. Every call is authenticated as the completions
 * are and sees only its tenant's objects; the objects are in OpenAI's shapes. Stateless; thread-safe.
 */
final class BatchEndpoints {
  private static final ObjectMapper JSON = JsonMapper.builder(JsonLimits.factory()).build();
  private static final Set<String> CREATE_FIELDS = Set.of("input_file_id", "endpoint", "completion_window", "metadata");
  private static final int MAX_LIMIT = 100;
  private static final int MULTIPART_OVERHEAD = 64 * 1024;

  private final CompletionService service;
  private final BatchService batches;
  private final long maxBodyBytes;

  private BatchEndpoints(CompletionService service, BatchService batches, long maxBodyBytes) {
    this.service = requireNonNull(service, "service");
    this.batches = requireNonNull(batches, "batches");
    this.maxBodyBytes = maxBodyBytes;
  }

  /** The multipart bounds uploads need: files up to {@code batch.max_file_bytes}, spilled to disk past 1 MiB. */
  static void configure(JavalinConfig config, long maxFileBytes) {
    config.jetty.multipartConfig.maxFileSize(maxFileBytes, SizeUnit.BYTES);
    config.jetty.multipartConfig.maxTotalRequestSize(maxFileBytes + MULTIPART_OVERHEAD,
        SizeUnit.BYTES);
    config.jetty.multipartConfig.maxInMemoryFileSize(1 << 20, SizeUnit.BYTES);
  }

  /** Serves the Files and Batch APIs on {@code app}. */
  static void register(Javalin app, CompletionService service, BatchService batches, long maxBodyBytes) {
    BatchEndpoints e = new BatchEndpoints(service, batches, maxBodyBytes);
    app.post("/v1/files", e::upload);
    app.get("/v1/files", e::listFiles);
    app.get("/v1/files/{id}", ctx -> HttpErrors.write(ctx, 200, file(batches.file(e.tenant(ctx), ctx.pathParam("id")))));
    app.get("/v1/files/{id}/content", e::content);
    app.delete("/v1/files/{id}", ctx -> {
      String id = ctx.pathParam("id");
      batches.deleteFile(e.tenant(ctx), id);
      HttpErrors.write(ctx, 200, JSON.createObjectNode().put("id", id).put("object", "file").put("deleted", true));
    });
    app.post("/v1/batches", e::create);
    app.get("/v1/batches", e::listBatches);
    app.get("/v1/batches/{id}", ctx -> HttpErrors.write(ctx, 200, batch(batches.batch(e.tenant(ctx), ctx.pathParam("id")))));
    app.post("/v1/batches/{id}/cancel", ctx -> HttpErrors.write(ctx, 200,
        batch(batches.cancel(e.tenant(ctx), ctx.pathParam("id")))));
  }

  private Tenant tenant(Context ctx) {
    Tenant tenant = service.authenticate(ctx.header("Authorization"));
    InfermeshHeaders.read(ctx.req()); // fail closed here too
    return tenant;
  }

  private void upload(Context ctx) throws IOException {
    Tenant tenant = tenant(ctx);
    long declared = ctx.req().getContentLengthLong();
    if (declared > batches.maxFileBytes() + MULTIPART_OVERHEAD) {
      throw new HttpProblem(413, "file", "file: the upload is " + declared + " bytes, more than the limit of "
          + batches.maxFileBytes() + " bytes (batch.max_file_bytes)");
    }
    String contentType = ctx.req().getContentType();
    if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
      throw new HttpProblem(415, "Content-Type", "Content-Type: must be multipart/form-data with fields file and"
          + " purpose");
    }
    UploadedFile upload;
    String purpose;
    try {
      upload = ctx.uploadedFile("file");
      purpose = ctx.formParam("purpose");
    } catch (IllegalStateException e) { // Jetty's multipart bounds
      throw new HttpProblem(413, "file", "file: larger than " + batches.maxFileBytes() + " bytes (batch.max_file_bytes)");
    }
    if (upload == null) {
      throw EdgeException.invalid("file", "file: is required (a multipart field named file)");
    }
    if (purpose == null) {
      throw EdgeException.invalid("purpose", "purpose: is required");
    }
    if (upload.size() > batches.maxFileBytes()) {
      throw new HttpProblem(413, "file", "file: larger than " + batches.maxFileBytes() + " bytes (batch.max_file_bytes)");
    }
    byte[] content;
    try (InputStream in = upload.content()) {
      content = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, batches.maxFileBytes() + 1));
    }
    String filename = upload.filename() == null || upload.filename().isBlank() ? "file" : upload.filename();
    StoredFile stored = batches.upload(tenant, filename, purpose, content);
    HttpErrors.write(ctx, 200, file(stored));
  }

  private void listFiles(Context ctx) {
    Tenant tenant = tenant(ctx);
    int limit = limit(ctx, 10_000);
    Optional<String> purpose = Optional.ofNullable(ctx.queryParam("purpose"));
    List<StoredFile> files = batches.files(tenant, purpose, Optional.ofNullable(ctx.queryParam("after")), limit + 1);
    HttpErrors.write(ctx, 200, page(files, limit, BatchEndpoints::file, StoredFile::id));
  }

  private void content(Context ctx) throws IOException {
    byte[] content = batches.content(tenant(ctx), ctx.pathParam("id"));
    ctx.status(200);
    ctx.contentType("application/octet-stream");
    ctx.res().setContentLength(content.length);
    try (OutputStream out = ctx.res().getOutputStream()) {
      out.write(content);
    }
  }

  private void create(Context ctx) {
    Tenant tenant = tenant(ctx);
    CompletionsEndpoint.requireJson(ctx);
    JsonNode root;
    try (JsonParser parser = JSON.createParser(FrontDoor.readBody(ctx.req(), maxBodyBytes))) {
      root = JSON.readTree(parser);
    } catch (IOException e) {
      throw new HttpProblem(400, null, "Invalid JSON body: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (root == null || !root.isObject()) {
      throw new HttpProblem(400, null, "Invalid JSON body: expected a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!CREATE_FIELDS.contains(field)) {
        throw EdgeException.invalid(field, "Unrecognized request argument supplied: " + field);
      }
    }
    Batch batch = batches.create(tenant, requiredString(root, "input_file_id"), requiredString(root, "endpoint"),
        requiredString(root, "completion_window"), metadata(root.get("metadata")));
    HttpErrors.write(ctx, 200, batch(batch));
  }

  private void listBatches(Context ctx) {
    Tenant tenant = tenant(ctx);
    int limit = limit(ctx, 20);
    List<Batch> list = batches.batches(tenant, Optional.ofNullable(ctx.queryParam("after")), limit + 1);
    HttpErrors.write(ctx, 200, page(list, limit, BatchEndpoints::batch, Batch::id));
  }

  private static int limit(Context ctx, int fallback) {
    String raw = ctx.queryParam("limit");
    if (raw == null) {
      return Math.min(fallback, MAX_LIMIT);
    }
    int limit;
    try {
      limit = Integer.parseInt(raw);
    } catch (NumberFormatException e) {
      limit = -1;
    }
    if (limit < 1 || limit > MAX_LIMIT) {
      throw EdgeException.invalid("limit", "limit: must be 1 to " + MAX_LIMIT + ", got '" + raw + "'");
    }
    return limit;
  }

  /** OpenAI's list: {@code object}, {@code data}, {@code first_id}, {@code last_id}, {@code has_more}. */
  private static <T> ObjectNode page(List<T> items, int limit, Function<T, ObjectNode> render, Function<T, String> id) {
    ObjectNode out = JSON.createObjectNode();
    out.put("object", "list");
    ArrayNode data = out.putArray("data");
    List<T> shown = items.subList(0, Math.min(limit, items.size()));
    shown.forEach(item -> data.add(render.apply(item)));
    if (shown.isEmpty()) {
      out.putNull("first_id");
      out.putNull("last_id");
    } else {
      out.put("first_id", id.apply(shown.get(0)));
      out.put("last_id", id.apply(shown.get(shown.size() - 1)));
    }
    out.put("has_more", items.size() > limit);
    return out;
  }

  private static String requiredString(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      throw EdgeException.invalid(field, field + ": is required");
    }
    if (!node.isTextual()) {
      throw EdgeException.invalid(field, field + ": must be a string");
    }
    return node.textValue();
  }

  private static Map<String, String> metadata(JsonNode node) {
    Map<String, String> out = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (!node.isObject()) {
      throw EdgeException.invalid("metadata", "metadata: must be an object of strings");
    }
    if (node.size() > BatchService.MAX_METADATA) {
      throw EdgeException.invalid("metadata", "metadata: at most " + BatchService.MAX_METADATA + " pairs, got "
          + node.size());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw EdgeException.invalid("metadata", "metadata." + e.getKey() + ": must be a string");
      }
      out.put(e.getKey(), e.getValue().textValue());
    }
    return out;
  }

  /** OpenAI's file object. */
  static ObjectNode file(StoredFile f) {
    ObjectNode out = JSON.createObjectNode();
    out.put("id", f.id());
    out.put("object", "file");
    out.put("bytes", f.bytes());
    out.put("created_at", f.createdAt());
    out.putNull("expires_at");
    out.put("filename", f.filename());
    out.put("purpose", f.purpose());
    out.put("status", "processed");
    out.putNull("status_details");
    return out;
  }

  /** OpenAI's batch object. */
  static ObjectNode batch(Batch b) {
    ObjectNode out = JSON.createObjectNode();
    out.put("id", b.id());
    out.put("object", "batch");
    out.put("endpoint", b.endpoint().path());
    out.putNull("errors");
    out.put("input_file_id", b.inputFileId());
    out.put("completion_window", b.completionWindow());
    out.put("status", b.status().wireName());
    out.put("output_file_id", b.outputFileId());
    out.put("error_file_id", b.errorFileId());
    Batch.Times t = b.times();
    out.put("created_at", t.createdAt());
    time(out, "in_progress_at", t.inProgressAt());
    out.put("expires_at", t.expiresAt());
    time(out, "finalizing_at", t.finalizingAt());
    time(out, "completed_at", t.completedAt());
    time(out, "failed_at", t.failedAt());
    time(out, "expired_at", t.expiredAt());
    time(out, "cancelling_at", t.cancellingAt());
    time(out, "cancelled_at", t.cancelledAt());
    out.putObject("request_counts").put("total", b.total()).put("completed", b.completed()).put("failed", b.failed());
    ObjectNode metadata = out.putObject("metadata");
    b.metadata().forEach(metadata::put);
    return out;
  }

  private static void time(ObjectNode out, String field, OptionalLong value) {
    if (value.isPresent()) {
      out.put(field, value.getAsLong());
    } else {
      out.putNull(field);
    }
  }
}
