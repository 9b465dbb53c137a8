package io.infermesh.xds.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.infermesh.node.config.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * A YAML mapping read key by key with defaults. Remembers which keys were read so {@link
 * #finish()} can reject unknown (misspelled) keys; every error names the full key path. Not
 * thread-safe; used once while loading.
 */
final class ConfigNode {


  private final String source;
  private final String path;
  private final JsonNode node;
  private final Set<String> read = new HashSet<>();

  ConfigNode(String source, String path, JsonNode node) {
    this.source = source;
    this.path = path;
    this.node = node == null ? MissingNode.getInstance() : node;
    if (!this.node.isMissingNode() && !this.node.isNull() && !this.node.isObject()) {
      throw error("", "must be a mapping");
    }
  }

  String key(String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  MeshConfigException error(String name, String reason) {
    String key = name.isEmpty() ? path : key(name);
    return new MeshConfigException(source + ": " + (key.isEmpty() ? "" : key + ": ") + reason);
  }

  private JsonNode raw(String name) {
    read.add(name);
    JsonNode v = node.get(name);
    return v == null || v.isNull() ? null : v;
  }

  boolean has(String name) {
    return node.has(name) && !node.get(name).isNull();
  }

  String string(String name, String defaultValue) {
    JsonNode v = raw(name);
    if (v == null) {
      return defaultValue;
    }
    if (!v.isValueNode()) {
      throw error(name, "must be a text value");
    }
    return v.asText();
  }

  int integer(String name, int defaultValue) {
    JsonNode v = raw(name);
    if (v == null) {
      return defaultValue;
    }
    if (!v.canConvertToInt() || !(v.isIntegralNumber() || v.isTextual() && v.asText().matches("-?\\d+"))) {
      throw error(name, "must be a whole number, was '" + v.asText() + "'");
    }
    return v.isTextual() ? Integer.parseInt(v.asText()) : v.intValue();
  }

  double number(String name, double defaultValue) {
    JsonNode v = raw(name);
    if (v == null) {
      return defaultValue;
    }
    if (v.isNumber()) {
      return v.doubleValue();
    }
    try {
      return Double.parseDouble(v.asText());
    } catch (NumberFormatException e) {
      throw error(name, "must be a number, was '" + v.asText() + "'");
    }
  }

  boolean bool(String name, boolean defaultValue) {
    JsonNode v = raw(name);
    if (v == null) {
      return defaultValue;
    }
    if (v.isBoolean()) {
      return v.booleanValue();
    }
    String t = v.asText().toLowerCase(Locale.ROOT);
    if (t.equals("true") || t.equals("false")) {
      return Boolean.parseBoolean(t);
    }
    throw error(name, "must be true or false, was '" + v.asText() + "'");
  }

  /** A duration in the mesh's one grammar ({@link Durations}). */
  Duration duration(String name, Duration defaultValue) {
    JsonNode v = raw(name);
    if (v == null) {
      return defaultValue;
    }
    String text = v.asText().trim();
    try {
      return parseDuration(text);
    } catch (IllegalArgumentException e) {
      throw error(name, e.getMessage());
    }
  }

  static Duration parseDuration(String text) {
    return Durations.parse(text);
  }

  ConfigNode child(String name) {
    return new ConfigNode(source, key(name), raw(name));
  }

  List<ConfigNode> objects(String name) {
    JsonNode v = raw(name);
    List<ConfigNode> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!v.isArray()) {
      throw error(name, "must be a list");
    }
    for (int i = 0; i < v.size(); i++) {
      out.add(new ConfigNode(source, key(name) + "[" + i + "]", v.get(i)));
    }
    return out;
  }

  List<String> strings(String name, List<String> defaultValue) {
    JsonNode v = raw(name);
    if (v == null) {
      return defaultValue;
    }
    if (!v.isArray()) {
      throw error(name, "must be a list");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode item : v) {
      if (!item.isValueNode()) {
        throw error(name, "must be a list of text values");
      }
      out.add(item.asText());
    }
    return out;
  }

  /** Runs a record constructor, turning its validation failure into an error at this node. */
  <T> T build(Function<ConfigNode, T> constructor) {
    try {
      return constructor.apply(this);
    } catch (MeshConfigException e) {
      throw e;
    } catch (IllegalArgumentException | NullPointerException e) {
      throw error("", String.valueOf(e.getMessage()));
    }
  }

  /** Rejects keys that were never read: they are misspellings or unsupported. */
  void finish() {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!read.contains(name)) {
        throw error(name, "unknown key (known here: " + String.join(", ", new java.util.TreeSet<>(read)) + ")");
      }
    }
  }
}
