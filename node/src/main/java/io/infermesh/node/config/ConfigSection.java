package io.infermesh.node.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The one reader of every infermesh config file ({@code edge.yaml}, {@code core.yaml}, {@code
 * mesh.yaml}): one mapping of the YAML tree with typed getters that name the full dotted key in
 * their errors ({@link ConfigException}), read durations and sizes in the one grammar ({@link
 * Durations}, {@link ByteSizes}), and remember which keys were read, so {@link #finish()} can
 * refuse unknown (misspelt) keys. Every key has the default its getter is given; {@link #build}
 * runs a record's constructor or builder so that its failure, too, names the key. Types are
 * strict: a number, boolean or list written as a string is refused, not guessed. Confined to the
 * loading thread.
 */
public final class ConfigSection {

  private final String prefix;
  private final JsonNode node;
  private final String example;
  private final Set<String> read = new HashSet<>();

  private ConfigSection(String prefix, JsonNode node, String example) {
    this.prefix = prefix;
    this.node = node;
    this.example = example;
  }

  /**
   * The document root; an empty document reads as an empty mapping.
   *
   * @param example the annotated example file an unknown key's error points to, e.g. {@code deploy/edge.yaml}
   */
  public static ConfigSection root(JsonNode node, String example) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return new ConfigSection("", MissingNode.getInstance(), example);
    }
    if (!node.isObject()) {
      throw new ConfigException("(root)", "must be a mapping of sections (see " + example + ")");
    }
    return new ConfigSection("", node, example);
  }

  /** This section's own dotted key ({@code discovery.consul}); empty for the root. */
  public String key() {
    return prefix;
  }

  /** The dotted key of {@code name} in this section. */
  public String key(String name) {
    return prefix.isEmpty() ? name : prefix + "." + name;
  }

  private JsonNode value(String name) {
    read.add(name);
    JsonNode v = node.path(name);
    return v.isNull() ? MissingNode.getInstance() : v;
  }

  public boolean has(String name) {
    return !node.path(name).isMissingNode() && !node.path(name).isNull();
  }

  public ConfigSection section(String name) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return new ConfigSection(key(name), MissingNode.getInstance(), example);
    }
    if (!v.isObject()) {
      throw new ConfigException(key(name), "must be a mapping");
    }
    return new ConfigSection(key(name), v, example);
  }

  private ConfigSection of(String key, JsonNode item) {
    if (!item.isObject()) {
      throw new ConfigException(key, "must be a mapping");
    }
    return new ConfigSection(key, item, example);
  }

  public String string(String name, String fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isValueNode()) {
      throw new ConfigException(key(name), "must be a string");
    }
    return v.asText();
  }

  public Path path(String name, Path fallback) {
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

  public int integer(String name, int fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new ConfigException(key(name), "must be an integer, got " + v.asText());
    }
    return v.intValue();
  }

  public long longValue(String name, long fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new ConfigException(key(name), "must be an integer, got " + v.asText());
    }
    return v.longValue();
  }

  /** A number, whole or not ({@code 0.8}, {@code 5}). */
  public double number(String name, double fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isNumber()) {
      throw new ConfigException(key(name), "must be a number, got '" + v.asText() + "'");
    }
    return v.doubleValue();
  }

  public boolean bool(String name, boolean fallback) {
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
  public Duration duration(String name, Duration fallback) {
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
  public long bytes(String name, long fallback) {
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

  public List<String> strings(String name, List<String> fallback) {
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

  /** A list of integers, e.g. {@code steps: [1, 10, 50, 100]}; each item named {@code name[i]} when it is not one. */
  public List<Integer> integers(String name, List<Integer> fallback) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return fallback;
    }
    if (!v.isArray()) {
      throw new ConfigException(key(name), "must be a list of integers");
    }
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      JsonNode item = v.get(i);
      if (!item.isIntegralNumber() || !item.canConvertToInt()) {
        throw new ConfigException(key(name) + "[" + i + "]", "must be an integer, got " + item.asText());
      }
      out.add(item.intValue());
    }
    return out;
  }

  /** The items of a list of mappings, each as a section keyed {@code name[i]}. */
  public List<ConfigSection> sections(String name) {
    JsonNode v = value(name);
    if (v.isMissingNode()) {
      return List.of();
    }
    if (!v.isArray()) {
      throw new ConfigException(key(name), "must be a list");
    }
    List<ConfigSection> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      out.add(of(key(name) + "[" + i + "]", v.get(i)));
    }
    return out;
  }

  public Optional<ConfigSection> optionalSection(String name) {
    return has(name) ? Optional.of(section(name)) : Optional.empty();
  }

  /**
   * Runs a record's constructor or builder for this section, so that its failure names the key:
   * a {@link ConfigException} passes as it is (its key is already the full one); any other
   * {@link IllegalArgumentException} or {@link NullPointerException} (a policy record's own check,
   * e.g. {@code burst.low_watermark must be in [0, high_watermark)}) is reported at the key its
   * message starts with when that key lies in this section, else at this section.
   */
  public <T> T build(Supplier<T> constructor) {
    try {
      return constructor.get();
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException | NullPointerException e) {
      String message = String.valueOf(e.getMessage());
      int space = message.indexOf(' ');
      String first = space < 0 ? "" : message.substring(0, space);
      String head = first.split("[.\\[]", 2)[0];
      boolean inside = prefix.isEmpty() ? read.contains(head) : first.startsWith(prefix + ".");
      if (inside && first.matches("[a-z0-9_.\\[\\]]+")) {
        throw new ConfigException(first, message.substring(space + 1), e);
      }
      throw new ConfigException(prefix.isEmpty() ? "(root)" : prefix, message, e);
    }
  }

  /** Refuses keys that no getter asked for: they are typos or options this version does not know. */
  public void finish() {
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!read.contains(name)) {
        throw new ConfigException(key(name), "unknown key (check the spelling; see " + example + " for every key)");
      }
    }
  }
}
