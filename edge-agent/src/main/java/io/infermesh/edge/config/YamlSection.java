package io.infermesh.edge.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One mapping of the YAML tree with typed getters that name the full key in their errors and
 * remember which keys were read, so {@link #finish()} can refuse unknown (misspelt) keys.
 * Confined to the loading thread.
 */
final class YamlSection {
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

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

  /** A duration such as {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, {@code 1d}, or ISO-8601 {@code PT10S}. */
  Duration duration(String name, Duration fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    String text = v.asText().strip().toLowerCase(Locale.ROOT);
    Matcher m = DURATION.matcher(text);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    try {
      return Duration.parse(text.toUpperCase(Locale.ROOT));
    } catch (RuntimeException e) {
      throw new ConfigException(key(name), "must be a duration such as 500ms, 10s, 5m or 1h, got " + v.asText());
    }
  }

  /** A size in bytes: a plain number or one with a unit ({@code 64MiB}, {@code 512k}, {@code 1GB}; binary units). */
  long bytes(String name, long fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (v.isIntegralNumber()) {
      return v.longValue();
    }
    Matcher m = SIZE.matcher(v.asText().strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new ConfigException(key(name), "must be a size such as 1048576, 512KiB or 64MiB, got " + v.asText());
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2);
    long multiplier = switch (unit.charAt(0)) {
      case 'k' -> 1L << 10;
      case 'm' -> 1L << 20;
      case 'g' -> 1L << 30;
      default -> 1L;
    };
    if (n > Long.MAX_VALUE / multiplier) {
      throw new ConfigException(key(name), "is too large: " + v.asText());
    }
    return n * multiplier;
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
