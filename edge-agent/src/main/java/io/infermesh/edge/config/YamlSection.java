package io.infermesh.edge.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.infermesh.node.config.ByteSizes;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.Durations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One mapping of the YAML tree with typed getters that name the full key in their errors and
 * remember which keys were read, so {@link #finish()} can refuse unknown (misspelt) keys.
 * Confined to the loading thread.
 */
final class YamlSection {

  private final String prefix;
  private final JsonNode node;
  private final Set<String> read = new HashSet<>();

  private YamlSection(String prefix, JsonNode node) {
    this.prefix = prefix;
    this.node = node;
  }

  /** The document root; an empty document reads as an empty mapping. */
  static YamlSection root(JsonNode node) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return new YamlSection("", MissingNode.getInstance());
    }
    if (!node.isObject()) {
      throw new ConfigException("(root)", "must be a mapping of sections such as model:, http:, auth:");
    }
    return new YamlSection("", node);
  }

  String key(String name) {
    return prefix.isEmpty() ? name : prefix + "." + name;
  }

  private JsonNode value(String name) {
    read.add(name);
    JsonNode v = node.path(name);
    return v.isNull() ? MissingNode.getInstance() : v;
  }

  boolean has(String name) {
    return !node.path(name).isMissingNode() && !node.path(name).isNull();
  }

  YamlSection section(String name) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return new YamlSection(key(name), MissingNode.getInstance());
    }
    if (!v.isObject()) {
      throw new ConfigException(key(name), "must be a mapping");
    }
    return new YamlSection(key(name), v);
  }

  static YamlSection of(String key, JsonNode node) {
    if (!node.isObject()) {
      throw new ConfigException(key, "must be a mapping");
    }
    return new YamlSection(key, node);
  }

  String string(String name, String fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isValueNode()) {
      throw new ConfigException(key(name), "must be a string");
    }
    return v.asText();
  }

  Path path(String name, Path fallback) {
    String s = string(name, null);
    if (s == null || s.isBlank()) {
      return fallback;
    }
    try {
      return Path.of(s);
    } catch (RuntimeException e) {
      throw new ConfigException(key(name), "is not a valid path: " + e.getMessage());
    }
  }

  int integer(String name, int fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new ConfigException(key(name), "must be an integer, got " + v.asText());
    }
    return v.intValue();
  }

  long longValue(String name, long fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new ConfigException(key(name), "must be an integer, got " + v.asText());
    }
    return v.longValue();
  }

  boolean bool(String name, boolean fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isBoolean()) {
      throw new ConfigException(key(name), "must be true or false, got " + v.asText());
    }
    return v.booleanValue();
  }

  /** A duration in the mesh's one grammar ({@link Durations}). */
  Duration duration(String name, Duration fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    try {
      return Durations.parse(v.asText());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key(name), e.getMessage());
    }
  }

  /** A size in bytes in the mesh's one grammar ({@link ByteSizes}). */
  long bytes(String name, long fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    try {
      return ByteSizes.parse(v.asText());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key(name), e.getMessage());
    }
  }

  List<String> strings(String name, List<String> fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isArray()) {
      throw new ConfigException(key(name), "must be a list of strings");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      JsonNode item = v.get(i);
      if (!item.isTextual()) {
        throw new ConfigException(key(name) + "[" + i + "]", "must be a string");
      }
      out.add(item.textValue());
    }
    return out;
  }

  /** The items of a list of mappings, each as a section keyed {@code name[i]}. */
  List<YamlSection> sections(String name) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return List.of();
    }
    if (!v.isArray()) {
      throw new ConfigException(key(name), "must be a list");
    }
    List<YamlSection> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      out.add(of(key(name) + "[" + i + "]", v.get(i)));
    }
    return out;
  }

  Optional<YamlSection> optionalSection(String name) {
    return has(name) ? Optional.of(section(name)) : Optional.empty();
  }

  /** Refuses keys that no getter asked for: they are typos or options this version does not know. */
  void finish() {
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!read.contains(name)) {
        throw new ConfigException(key(name), "unknown key (check the spelling; see deploy/edge.yaml for every key)");
      }
    }
  }
}
