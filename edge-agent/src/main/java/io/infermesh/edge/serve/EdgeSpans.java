package io.infermesh.edge.serve;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import java.util.List;

/**
 * The names and attributes of the edge's spans: OpenTelemetry's GenAI names where they exist
 * ({@code gen_ai.*}), {@code infermesh.*} for the rest. Each span of a request is a child of the
 * transport's server span (HTTP or gRPC), which carries the caller's {@code traceparent}.
 */
final class EdgeSpans {
  static final String AUTH = "infermesh.edge.auth";
  static final String ROUTE = "infermesh.edge.route";
  static final String CACHE = "infermesh.edge.cache";
  static final String ADMISSION = "infermesh.edge.admission";
  static final String ESCALATE = "infermesh.edge.escalate";
  /** The event on a generation span when its first token arrives (time to first token). */
  static final String FIRST_TOKEN = "gen_ai.first_token";

  static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
  static final AttributeKey<Long> MAX_TOKENS = AttributeKey.longKey("gen_ai.request.max_tokens");
  static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  static final AttributeKey<List<String>> FINISH_REASONS = AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
  static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("infermesh.request.id");
  static final AttributeKey<String> ROUTE_TAKEN = AttributeKey.stringKey("infermesh.route");
  static final AttributeKey<String> ROUTE_REASON = AttributeKey.stringKey("infermesh.route.reason");
  static final AttributeKey<Boolean> CACHE_HIT = AttributeKey.booleanKey("infermesh.cache.hit");
  static final AttributeKey<String> MODEL_VERSION = AttributeKey.stringKey("infermesh.model.version");

  private EdgeSpans() {}

  /** The GenAI span name of a generation: {@code "{operation} {model}"}. */
  static String generation(Operation operation, String model) {
    return operation.semanticName() + " " + model;
  }

  /** Marks {@code span} failed with {@code error}'s kind (the description stays in the logs and the answer). */
  static void failed(Span span, EdgeException error) {
    span.setStatus(StatusCode.ERROR, error.kind().metricName());
    span.setAttribute("error.type", error.kind().metricName());
  }
}
