package io.infermesh.core.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;

/**
 * A test oracle: whether a JSON value validates against a schema of the supported subset (type,
 * properties, required, additionalProperties false, items, enum, const, anyOf, $ref into $defs),
 * written from the JSON Schema spec independently of the grammar compiler.
 */
final class SchemaValidator {
  private final JsonNode root;

  SchemaValidator(JsonNode root) {
    this.root = root;
  }

  boolean valid(JsonNode value) {
    return valid(root, value);
  }

  private boolean valid(JsonNode schema, JsonNode v) {
    if (schema.isBoolean()) {
      return schema.booleanValue();
    }
    if (schema.has("$ref")) {
      String ref = schema.get("$ref").textValue();
      return valid(root.at(ref.substring(1)), v);
    }
    if (schema.has("const") && !schema.get("const").equals(v)) {
      return false;
    }
    if (schema.has("enum")) {
      boolean found = false;
      for (JsonNode e : schema.get("enum")) {
        found |= e.equals(v);
      }
      if (!found) {
        return false;
      }
    }
    if (schema.has("anyOf")) {
      boolean any = false;
      for (JsonNode s : schema.get("anyOf")) {
        any |= valid(s, v);
      }
      if (!any) {
        return false;
      }
    }
    JsonNode type = schema.get("type");
    if (type != null) {
      boolean ok = false;
      if (type.isArray()) {
        for (JsonNode t : type) {
          ok |= hasType(t.textValue(), v);
        }
      } else {
        ok = hasType(type.textValue(), v);
      }
      if (!ok) {
        return false;
      }
    }
    if (v.isObject()) {
      JsonNode props = schema.path("properties");
      for (JsonNode r : schema.path("required")) {
        if (!v.has(r.textValue())) {
          return false;
        }
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        if (props.has(f.getKey())) {
          if (!valid(props.get(f.getKey()), f.getValue())) {
            return false;
          }
        } else if (schema.path("additionalProperties").isBoolean() && !schema.get("additionalProperties").asBoolean()) {
          return false;
        }
      }
    }
    if (v.isArray() && schema.has("items")) {
      for (JsonNode item : v) {
        if (!valid(schema.get("items"), item)) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean hasType(String type, JsonNode v) {
    return switch (type) {
      case "object" -> v.isObject();
      case "array" -> v.isArray();
      case "string" -> v.isTextual();
      case "number" -> v.isNumber();
      case "integer" -> v.isIntegralNumber() || v.isNumber() && v.doubleValue() == Math.rint(v.doubleValue());
      case "boolean" -> v.isBoolean();
      case "null" -> v.isNull();
      default -> throw new IllegalArgumentException(type);
    };
  }
}
