package io.infermesh.models.grammar;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/**
 * Compiles a JSON schema (OpenAI {@code response_format.json_schema.schema}) into a {@link
 * Grammar} whose every sentence is compact JSON that validates against it.
 *
 * <p>Supported: {@code type} (a name or an array of names: object, array, string, number,
 * integer, boolean, null), {@code properties}, {@code required}, {@code additionalProperties}
 * (no extra property is ever written, which every value of it allows), {@code items}, {@code
 * enum}, {@code const}, {@code anyOf}, {@code $ref} into {@code $defs}/{@code definitions}
 * (recursion allowed), and annotations (description, title, default, examples, $schema, $id,
 * $comment). Anything else (minLength, pattern, minimum, oneOf, allOf, format, …) is refused with
 * a {@link SchemaException} naming the keyword, never ignored. Properties are written in the
 * schema's order. Stateless; thread-safe.
 */
public final class JsonSchemaGrammar {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonSchemaGrammar() {}

  /** The grammar of values valid against {@code schema}. */
  public static Grammar of(JsonNode schema) {
    requireNonNull(schema, "schema");
    Grammar.Builder b = Grammar.builder();
    String root = b.reserve("root");
    b.define(root, List.of(Grammar.seq(new JsonRules(b, schema).value(schema, ""))));
    return b.build(root);
  }

  /** {@link #of(JsonNode)} for schema text. */
  public static Grammar of(String schemaJson) {
    return of(parse(schemaJson));
  }

  /** Any JSON object (OpenAI {@code json_object} mode). */
  public static Grammar anyObject() {
    Grammar.Builder b = Grammar.builder();
    String root = b.reserve("root");
    b.define(root, List.of(Grammar.seq(new JsonRules(b, JSON.nullNode()).anyObject())));
    return b.build(root);
  }

  static JsonNode parse(String json) {
    try {
      JsonNode node = JSON.readTree(requireNonNull(json, "json"));
      if (node == null || node.isMissingNode()) {
        throw new SchemaException("", "the schema is empty");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new SchemaException("", "the schema is not valid JSON: " + e.getOriginalMessage());
    }
  }
}
