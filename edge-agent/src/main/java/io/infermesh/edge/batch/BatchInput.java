package io.infermesh.edge.batch;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.infermesh.edge.serve.EdgeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads a batch input file, OpenAI's JSONL: one request per line, {@code {"custom_id", "method":
 * "POST", "url", "body"}} and nothing else. Every line is checked before the batch is created, in
 * one pass over the bytes (a hash set for the ids): a line that is not a JSON object, a missing or
 * duplicate {@code custom_id} (at most {@value #MAX_CUSTOM_ID} characters), a method other than
 * POST, a {@code url} other than the batch's endpoint, a body that is not an object or is larger
 * than an interactive request may be, or more lines than {@code batch.max_lines} refuses the batch
 * with 400 naming the line. Blank lines are skipped. Whether a body is a valid request for its
 * endpoint is the endpoint's to say, when the line runs (an error line in the error file, as
 * OpenAI does). Stateless.
 */
public final class BatchInput {
  /** The longest {@code custom_id}. */
  public static final int MAX_CUSTOM_ID = 512;
  private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
      .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxNumberLength(100)
          .maxNameLength(1024).build())
      .build()).build();
  private static final Set<String> KEYS = Set.of("custom_id", "method", "url", "body");

  private BatchInput() {}

  /**
   * The request lines of {@code content}.
   *
   * @throws EdgeException INVALID_ARGUMENT (param {@code input_file_id}) naming the first bad line
   */
  public static List<InputLine> read(byte[] content, BatchEndpoint endpoint, int maxLines, long maxBodyBytes) {
    List<InputLine> lines = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int start = 0;
    int number = 0;
    while (start < content.length) {
      int end = start;
      while (end < content.length && content[end] != '\n') {
        end++;
      }
      number++;
      int to = end > start && content[end - 1] == '\r' ? end - 1 : end;
      if (!blank(content, start, to)) {
        if (lines.size() == maxLines) {
          throw refused(number, "the file holds more than " + maxLines + " requests (batch.max_lines)");
        }
        lines.add(line(content, start, to, number, endpoint, ids, maxBodyBytes));
      }
      start = end + 1;
    }
    if (lines.isEmpty()) {
      throw EdgeException.invalid("input_file_id", "input_file_id: the file holds no requests");
    }
    return lines;
  }

  private static InputLine line(byte[] content, int from, int to, int number, BatchEndpoint endpoint, Set<String> ids,
      long maxBodyBytes) {
    if (to - from > maxBodyBytes + 4096) {
      throw refused(number, "the line is larger than a request may be (" + maxBodyBytes + " bytes of body)");
    }
    JsonNode root;
    try (JsonParser parser = JSON.createParser(content, from, to - from)) {
      root = JSON.readTree(parser);
      if (parser.nextToken() != null) {
        throw refused(number, "more than one JSON value on the line");
      }
    } catch (IOException e) {
      throw refused(number, "not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
    }
    if (root == null || !root.isObject()) {
      throw refused(number, "must be a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!KEYS.contains(key)) {
        throw refused(number, "unknown field '" + key + "'; a line has custom_id, method, url and body");
      }
    }
    JsonNode id = root.get("custom_id");
    if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
      throw refused(number, "custom_id: must be a non-empty string");
    }
    String customId = id.textValue();
    if (customId.length() > MAX_CUSTOM_ID) {
      throw refused(number, "custom_id: must be at most " + MAX_CUSTOM_ID + " characters");
    }
    if (!ids.add(customId)) {
      throw refused(number, "custom_id: '" + customId + "' is used by an earlier line; each must be unique");
    }
    JsonNode method = root.get("method");
    if (method == null || !method.isTextual() || !method.textValue().equals("POST")) {
      throw refused(number, "method: must be POST");
    }
    JsonNode url = root.get("url");
    if (url == null || !url.isTextual() || !url.textValue().equals(endpoint.path())) {
      throw refused(number, "url: must be the batch's endpoint " + endpoint.path() + ", got "
          + (url == null ? "nothing" : url.toString()));
    }
    JsonNode body = root.get("body");
    if (body == null || !body.isObject()) {
      throw refused(number, "body: must be a JSON object");
    }
    String compact = body.toString();
    if (compact.getBytes(StandardCharsets.UTF_8).length > maxBodyBytes) {
      throw refused(number, "body: larger than " + maxBodyBytes + " bytes (http.max_body_bytes)");
    }
    return new InputLine(number, customId, compact);
  }

  private static boolean blank(byte[] content, int from, int to) {
    for (int i = from; i < to; i++) {
      if (content[i] != ' ' && content[i] != '\t') {
        return false;
      }
    }
    return true;
  }

  private static EdgeException refused(int line, String why) {
    return EdgeException.invalid("input_file_id", "input_file_id: line " + line + ": " + why);
  }
}
