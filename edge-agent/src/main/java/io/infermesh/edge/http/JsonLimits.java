package io.infermesh.edge.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;

/**
 * The bounds the request-body parser keeps (DESIGN.md's front-door rule: anything a client controls
 * has a bound), on top of {@code http.max_body_bytes}: OpenAI request bodies are shallow, so
 * nesting stops at {@value #MAX_DEPTH} levels; numbers at {@value #MAX_NUMBER_CHARS} characters
 * (longer ones cost superlinear time to convert); field names at {@value #MAX_NAME_CHARS}
 * characters. Jackson checks each as it reads, so a refusal costs no more than the bytes before
 * it. Breaking a bound is a 400 "Invalid JSON body". Thread-safe.
 */
final class JsonLimits {
  static final int MAX_DEPTH = 64;
  static final int MAX_NUMBER_CHARS = 100;
  static final int MAX_NAME_CHARS = 1024;

  private JsonLimits() {}

  /** A parser factory with these bounds; strings are bounded by the body size and Jackson's default. */
  static JsonFactory factory() {
    return JsonFactory.builder()
        // String.intern per distinct field name costs ~1 µs each: 90k unknown fields took 100 ms
        .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH)
            .maxNumberLength(MAX_NUMBER_CHARS)
            .maxNameLength(MAX_NAME_CHARS)
            .build())
        .build();
  }
}
