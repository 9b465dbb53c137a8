package io.infermesh.node.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;

/**
 * An {@link AuditRecord} as one line of the log: a JSON object with its fields in a fixed order,
 * snake_case names, {@code prompt}/{@code answer} only when set, and {@code prev} last.
 */
final class AuditLines {
  private static final JsonFactory JSON = new JsonFactory();

  private AuditLines() {}

  /** The record's line, {@code prev} last, UTF-8, ending in a newline. */
  static byte[] line(AuditRecord r, String prev) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("time", r.time().toString());
      g.writeStringField("request_id", r.requestId());
      g.writeStringField("tenant", r.tenant());
      g.writeStringField("caller", r.caller());
      g.writeStringField("route", r.route());
      g.writeStringField("reason", r.reason());
      g.writeStringField("model", r.model());
      g.writeStringField("model_version", r.modelVersion());
      g.writeNumberField("prompt_tokens", r.promptTokens());
      g.writeNumberField("completion_tokens", r.completionTokens());
      g.writeStringField("quota", r.quota());
      g.writeObjectFieldStart("masking");
      for (Map.Entry<String, Integer> e : r.masking().entrySet()) {
        g.writeNumberField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      g.writeStringField("status", r.status());
      if (r.prompt().isPresent()) {
        g.writeStringField("prompt", r.prompt().get());
      }
      if (r.answer().isPresent()) {
        g.writeStringField("answer", r.answer().get());
      }
      g.writeStringField(AuditChain.PREV, prev);
      g.writeEndObject();
    }
    out.write('\n');
    return out.toByteArray();
  }
}
