package io.infermesh.models.grammar;

import static io.infermesh.models.grammar.Grammar.lit;
import static io.infermesh.models.grammar.Grammar.seq;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.models.grammar.Grammar.CharClass;
import io.infermesh.models.grammar.Grammar.Ref;
import io.infermesh.models.grammar.Grammar.Symbol;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Grammar rules for compact JSON (no whitespace between tokens) that a schema accepts, added to
 * one {@link Grammar.Builder}. Object properties are written in the schema's order, required and
 * optional alike; an optional one may be left out. Not thread-safe: one per grammar being built.
 */
final class JsonRules {
  /** Keywords that constrain nothing (annotations) or that this compiler honours. */
  private static final Set<String> KNOWN = Set.of("type", "properties", "required", "additionalProperties", "items",
      "enum", "const", "anyOf", "$ref", "$defs", "definitions", "description", "title", "$schema", "$id", "default",
      "examples", "$comment", "strict");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Grammar.Builder b;
  private final JsonNode root;
  private final Map<String, String> refs = new HashMap<>();
  private final Map<Ref, Ref> arrays = new HashMap<>();
  private Ref anyValue;
  private Ref anyObject;
  private Ref string;
  private Ref number;
  private Ref integer;

  JsonRules(Grammar.Builder b, JsonNode root) {
    this.b = b;
    this.root = root;
  }

  /** The rule for a value that {@code schema} (at {@code path}) accepts. */
  Ref value(JsonNode schema, String path) {
    if (schema.isBoolean()) {
      if (!schema.booleanValue()) {
        throw new SchemaException(path, "the schema false accepts nothing");
      }
      return anyValue();
    }
    if (!schema.isObject()) {
      throw new SchemaException(path, "a schema must be an object or a boolean");
    }
    for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KNOWN.contains(k)) {
        throw new SchemaException(join(path, k), "the keyword '" + k + "' is not supported; supported: object, "
            + "properties, required, type, enum, const, array/items, string, number, integer, boolean, null, anyOf, "
            + "$ref to $defs");
      }
    }
    if (schema.has("$ref")) {
      return ref(schema.get("$ref"), join(path, "$ref"));
    }
    if (schema.has("const")) {
      return b.rule("const", List.of(seq(lit(json(schema.get("const"))))));
    }
    if (schema.has("enum")) {
      JsonNode values = schema.get("enum");
      if (!values.isArray() || values.isEmpty()) {
        throw new SchemaException(join(path, "enum"), "must be a non-empty array");
      }
      List<List<Symbol>> alts = new ArrayList<>();
      for (JsonNode v : values) {
        alts.add(seq(lit(json(v))));
      }
      return b.rule("enum", alts);
    }
    if (schema.has("anyOf")) {
      JsonNode options = schema.get("anyOf");
      if (!options.isArray() || options.isEmpty()) {
        throw new SchemaException(join(path, "anyOf"), "must be a non-empty array of schemas");
      }
      List<List<Symbol>> alts = new ArrayList<>();
      for (int i = 0; i < options.size(); i++) {
        alts.add(seq(value(options.get(i), join(path, "anyOf[" + i + "]"))));
      }
      return b.rule("any-of", alts);
    }
    JsonNode type = schema.get("type");
    if (type == null) {
      if (schema.has("properties") || schema.has("required")) {
        return typed("object", schema, path);
      }
      if (schema.has("items")) {
        return typed("array", schema, path);
      }
      return anyValue();
    }
    if (type.isTextual()) {
      return typed(type.textValue(), schema, path);
    }
    if (type.isArray() && !type.isEmpty()) {
      List<List<Symbol>> alts = new ArrayList<>();
      for (JsonNode t : type) {
        if (!t.isTextual()) {
          throw new SchemaException(join(path, "type"), "must be a type name or an array of them");
        }
        alts.add(seq(typed(t.textValue(), schema, path)));
      }
      return b.rule("types", alts);
    }
    throw new SchemaException(join(path, "type"), "must be a type name or an array of them");
  }

  private Ref typed(String type, JsonNode schema, String path) {
    return switch (type) {
      case "object" -> schema.has("properties") ? object(schema, path) : anyObject();
      case "array" -> schema.has("items") ? array(value(schema.get("items"), join(path, "items"))) : anyArray();
      case "string" -> string();
      case "number" -> number();
      case "integer" -> integer();
      case "boolean" -> b.rule("boolean", List.of(seq(lit("true")), seq(lit("false"))));
      case "null" -> b.rule("null", List.of(seq(lit("null"))));
      default -> throw new SchemaException(join(path, "type"), "unknown type '" + type + "'");
    };
  }

  private Ref object(JsonNode schema, String path) {
    JsonNode props = schema.get("properties");
    if (!props.isObject()) {
      throw new SchemaException(join(path, "properties"), "must be an object");
    }
    Set<String> required = new LinkedHashSet<>();
    JsonNode req = schema.get("required");
    if (req != null) {
      if (!req.isArray()) {
        throw new SchemaException(join(path, "required"), "must be an array of property names");
      }
      for (JsonNode r : req) {
        if (!r.isTextual() || !props.has(r.textValue())) {
          throw new SchemaException(join(path, "required"),
              "names " + r + ", which is not in properties (only declared properties can be required)");
        }
        required.add(r.textValue());
      }
    }
    List<String> names = new ArrayList<>();
    List<Ref> members = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      names.add(p.getKey());
      Ref v = value(p.getValue(), join(path, "properties." + p.getKey()));
      members.add(b.rule("kv-" + p.getKey(), List.of(seq(lit(json(JSON.getNodeFactory().textNode(p.getKey())) + ":"),
          v))));
    }
    // rest(i): what may follow once properties before i are settled and one has been written
    // (so each further one starts with a comma). A required property can't be skipped.
    Ref[] rest = new Ref[names.size() + 1];
    rest[names.size()] = empty();
    for (int i = names.size() - 1; i >= 0; i--) {
      List<List<Symbol>> alts = new ArrayList<>();
      alts.add(seq(lit(","), members.get(i), rest[i + 1]));
      if (!required.contains(names.get(i))) {
        alts.add(seq(rest[i + 1]));
      }
      rest[i] = b.rule("rest", alts);
    }
    // first(i): the first property written is i or a later one, every one before i optional.
    List<List<Symbol>> first = new ArrayList<>();
    boolean canBeEmpty = true;
    for (int i = 0; i < names.size(); i++) {
      first.add(seq(members.get(i), rest[i + 1]));
      if (required.contains(names.get(i))) {
        canBeEmpty = false;
        break;
      }
    }
    List<List<Symbol>> body = new ArrayList<>();
    for (List<Symbol> f : first) {
      List<Symbol> s = new ArrayList<>();
      s.add(lit("{"));
      s.addAll(f);
      s.add(lit("}"));
      body.add(s);
    }
    if (canBeEmpty) {
      body.add(seq(lit("{}")));
    }
    return b.rule("object", body);
  }

  private Ref ref(JsonNode target, String path) {
    if (!target.isTextual()) {
      throw new SchemaException(path, "must be a string");
    }
    String t = target.textValue();
    String existing = refs.get(t);
    if (existing != null) {
      return new Ref(existing);
    }
    JsonNode resolved;
    if (t.startsWith("#/$defs/")) {
      resolved = root.path("$defs").get(t.substring(8));
    } else if (t.startsWith("#/definitions/")) {
      resolved = root.path("definitions").get(t.substring(14));
    } else if (t.equals("#")) {
      resolved = root;
    } else {
      throw new SchemaException(path, "only references into this schema's $defs or definitions are supported, got " + t);
    }
    if (resolved == null) {
      throw new SchemaException(path, "the reference " + t + " names no definition");
    }
    String name = b.reserve("ref-" + t.substring(t.lastIndexOf('/') + 1));
    refs.put(t, name);
    b.define(name, List.of(seq(value(resolved, t.substring(2).replace('/', '.')))));
    return new Ref(name);
  }

  Ref array(Ref item) {
    return arrays.computeIfAbsent(item, i -> {
      Ref more = new Ref(b.reserve("items"));
      b.define(more.rule(), List.of(seq(lit(","), i, more), seq()));
      return b.rule("array", List.of(seq(lit("["), i, more, lit("]")), seq(lit("[]"))));
    });
  }

  /** Any JSON value. */
  Ref anyValue() {
    if (anyValue == null) {
      anyValue = new Ref(b.reserve("value"));
      Ref member = b.rule("member", List.of(seq(string(), lit(":"), anyValue)));
      Ref members = new Ref(b.reserve("members"));
      b.define(members.rule(), List.of(seq(lit(","), member, members), seq()));
      anyObject = b.rule("any-object", List.of(seq(lit("{"), member, members, lit("}")), seq(lit("{}"))));
      b.define(anyValue.rule(), List.of(seq(anyObject), seq(array(anyValue)), seq(string()), seq(number()),
          seq(lit("true")), seq(lit("false")), seq(lit("null"))));
    }
    return anyValue;
  }

  /** Any JSON object. */
  Ref anyObject() {
    anyValue();
    return anyObject;
  }

  private Ref anyArray() {
    return array(anyValue());
  }

  Ref string() {
    if (string == null) {
      Ref esc = b.rule("escape", List.of(seq(new CharClass(false, new int[] {'"', '"', '\\', '\\', '/', '/', 'b', 'b',
          'f', 'f', 'n', 'n', 'r', 'r', 't', 't'})), seq(lit("u"), hex(), hex(), hex(), hex())));
      Ref ch = b.rule("char", List.of(seq(new CharClass(true, new int[] {'"', '"', '\\', '\\', 0, 0x1f})),
          seq(lit("\\"), esc)));
      Ref chars = new Ref(b.reserve("chars"));
      b.define(chars.rule(), List.of(seq(ch, chars), seq()));
      string = b.rule("string", List.of(seq(lit("\""), chars, lit("\""))));
    }
    return string;
  }

  /**
   * A JSON number with at most 16 integer digits, 16 fraction digits and a 3-digit exponent (as
   * llama.cpp's own schema converter bounds them): every value fits a long or a double.
   */
  Ref number() {
    if (number == null) {
      Ref frac = b.rule("frac", List.of(seq(lit("."), digit(), upTo(15)), seq()));
      Ref exp = b.rule("exp", List.of(seq(new CharClass(false, new int[] {'e', 'e', 'E', 'E'}),
          b.rule("exp-sign", List.of(seq(new CharClass(false, new int[] {'+', '+', '-', '-'})), seq())), digit(),
          upTo(2)), seq()));
      number = b.rule("number", List.of(seq(integer(), frac, exp)));
    }
    return number;
  }

  /** A JSON integer with at most 16 digits. */
  Ref integer() {
    if (integer == null) {
      Ref sign = b.rule("sign", List.of(seq(lit("-")), seq()));
      Ref natural = b.rule("natural", List.of(seq(lit("0")),
          seq(new CharClass(false, new int[] {'1', '9'}), upTo(15))));
      integer = b.rule("integer", List.of(seq(sign, natural)));
    }
    return integer;
  }

  /** Up to {@code n} digits: {@code d(n) ::= | [0-9] d(n-1)}. */
  private Ref upTo(int n) {
    Ref r = b.rule("digits-0", List.of(seq()));
    for (int k = 1; k <= n; k++) {
      r = b.rule("digits-" + k, List.of(seq(), seq(digit(), r)));
    }
    return r;
  }

  private static CharClass digit() {
    return new CharClass(false, new int[] {'0', '9'});
  }

  private static CharClass hex() {
    return new CharClass(false, new int[] {'0', '9', 'a', 'f', 'A', 'F'});
  }

  private Ref empty() {
    return b.rule("empty", List.of(seq()));
  }

  static String json(JsonNode value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static String join(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }
}
