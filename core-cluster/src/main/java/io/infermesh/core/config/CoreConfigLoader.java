package io.infermesh.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.Durations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Set;

/**
 * Reads {@code core.yaml} into a {@link CoreConfig}. Unknown keys are errors (a typo should not
 * silently fall back to a default); durations are written like {@code 10s}, {@code 500ms},
 * {@code 2m}. Relative paths are resolved against the file's directory.
 */
public final class CoreConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private CoreConfigLoader() {}

  /** Reads and validates {@code file}. */
  public static CoreConfig load(Path file) throws IOException {
    return load(file, java.util.Map.of());
  }

  /**
   * Reads {@code file} (null: every key at its default), applies {@code overrides} (dotted keys
   * such as {@code grpc.port}, as command-line flags give them) and validates the result.
   */
  public static CoreConfig load(Path file, java.util.Map<String, String> overrides) throws IOException {
    com.fasterxml.jackson.databind.node.ObjectNode root;
    Path base;
    if (file == null) {
      root = YAML.createObjectNode();
      base = Path.of("").toAbsolutePath();
    } else {
      JsonNode tree = read(file);
      if (tree != null && !tree.isObject()) {
        throw new IOException(file + ": must be a YAML mapping");
      }
      root = tree == null ? YAML.createObjectNode() : (com.fasterxml.jackson.databind.node.ObjectNode) tree;
      base = file.toAbsolutePath().getParent();
    }
    for (java.util.Map.Entry<String, String> o : overrides.entrySet()) {
      String[] parts = o.getKey().split("\\.");
      com.fasterxml.jackson.databind.node.ObjectNode at = root;
      for (int i = 0; i < parts.length - 1; i++) {
        JsonNode next = at.path(parts[i]);
        at = next.isObject() ? (com.fasterxml.jackson.databind.node.ObjectNode) next : at.putObject(parts[i]);
      }
      at.put(parts[parts.length - 1], o.getValue());
    }
    return parse(root, base);
  }

  private static JsonNode read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + ": no such config file");
    }
    try {
      return YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException(file + ": not valid YAML: " + e.getMessage(), e);
    }
  }

  /** Builds a config from a parsed YAML tree; {@code base} resolves relative paths. */
  public static CoreConfig parse(JsonNode root, Path base) {
    known(root, "", Set.of("node", "grpc", "tls", "model", "engine", "scheduler", "stage", "metrics", "consul"));
    JsonNode node = section(root, "node", Set.of("name", "region"));
    JsonNode grpc = section(root, "grpc", Set.of("port", "address"));
    JsonNode tls = section(root, "tls", Set.of("dir", "name"));
    JsonNode model = section(root, "model", Set.of("name", "path", "sha256", "version", "device", "default_max_tokens"));
    JsonNode engine = section(root, "engine", Set.of("type", "threads", "upstream"));
    JsonNode upstream = section(engine, "upstream", Set.of("url", "model", "timeout", "health_path", "health_interval",
        "api_key", "api_key_env", "context_length"),
        "engine.");
    JsonNode sched = section(root, "scheduler", Set.of("max_queued", "max_batch_size", "max_batch_tokens",
        "prefill_chunk", "kv_blocks", "kv_block_size", "context_length", "aging"));
    JsonNode stage = section(root, "stage", Set.of("index", "count", "next"));
    JsonNode metrics = section(root, "metrics", Set.of("port", "address"));
    JsonNode consul = section(root, "consul", Set.of("address", "token", "service_name", "service_address", "tier",
        "check_interval", "deregister_after", "utilization_window"));

    String name = text(node, "node.name", "name", "core-0");
    CoreConfig.Scheduling d = CoreConfig.Scheduling.defaults();
    return new CoreConfig(
        new CoreConfig.Node(name, text(node, "node.region", "region", "local")),
        integer(grpc, "grpc.port", "port", CoreConfig.DEFAULT_GRPC_PORT),
        new CoreConfig.Tls(path(base, text(tls, "tls.dir", "dir", "certs")), text(tls, "tls.name", "name", name)),
        new CoreConfig.Model(
            text(model, "model.name", "name", "core"),
            model.hasNonNull("path") ? path(base, model.get("path").asText()) : null,
            text(model, "model.sha256", "sha256", ""),
            text(model, "model.version", "version", ""),
            text(model, "model.device", "device", "auto"),
            integer(model, "model.default_max_tokens", "default_max_tokens", 256)),
        new CoreConfig.Engine(
            text(engine, "engine.type", "type", "builtin"),
            text(upstream, "engine.upstream.url", "url", ""),
            text(upstream, "engine.upstream.model", "model", ""),
            duration(upstream, "engine.upstream.timeout", "timeout", Duration.ofMinutes(5)),
            text(upstream, "engine.upstream.health_path", "health_path", "/v1/models"),
            duration(upstream, "engine.upstream.health_interval", "health_interval", Duration.ofSeconds(5)),
            integer(engine, "engine.threads", "threads", 0),
            text(upstream, "engine.upstream.api_key", "api_key", ""),
            text(upstream, "engine.upstream.api_key_env", "api_key_env", ""),
            integer(upstream, "engine.upstream.context_length", "context_length", 0)),
        new CoreConfig.Scheduling(
            integer(sched, "scheduler.max_queued", "max_queued", d.maxQueued()),
            integer(sched, "scheduler.max_batch_size", "max_batch_size", d.maxBatchSize()),
            integer(sched, "scheduler.max_batch_tokens", "max_batch_tokens", d.maxBatchTokens()),
            integer(sched, "scheduler.prefill_chunk", "prefill_chunk", d.prefillChunk()),
            integer(sched, "scheduler.kv_blocks", "kv_blocks", d.kvBlocks()),
            integer(sched, "scheduler.kv_block_size", "kv_block_size", d.kvBlockSize()),
            integer(sched, "scheduler.context_length", "context_length", d.contextLength()),
            duration(sched, "scheduler.aging", "aging", d.aging())),
        new CoreConfig.Stage(
            integer(stage, "stage.index", "index", 0),
            integer(stage, "stage.count", "count", 1),
            text(stage, "stage.next", "next", "")),
        integer(metrics, "metrics.port", "port", 9464),
        consul(consul),
        new CoreConfig.Listen(
            text(grpc, "grpc.address", "address", CoreConfig.Listen.DEFAULT.grpc()),
            text(metrics, "metrics.address", "address", CoreConfig.Listen.DEFAULT.metrics())));
  }

  private static CoreConfig.Consul consul(JsonNode n) {
    CoreConfig.Consul d = CoreConfig.Consul.disabled();
    return new CoreConfig.Consul(
        text(n, "consul.address", "address", d.address()),
        text(n, "consul.token", "token", d.token()),
        text(n, "consul.service_name", "service_name", d.serviceName()),
        text(n, "consul.service_address", "service_address", d.serviceAddress()),
        text(n, "consul.tier", "tier", d.tier()),
        duration(n, "consul.check_interval", "check_interval", d.checkInterval()),
        duration(n, "consul.deregister_after", "deregister_after", d.deregisterAfter()),
        duration(n, "consul.utilization_window", "utilization_window", d.utilizationWindow()));
  }

  private static JsonNode section(JsonNode parent, String key, Set<String> keys) {
    return section(parent, key, keys, "");
  }

  private static JsonNode section(JsonNode parent, String key, Set<String> keys, String prefix) {
    JsonNode n = parent.path(key);
    if (n.isMissingNode() || n.isNull()) {
      return YAML.createObjectNode();
    }
    if (!n.isObject()) {
      throw new ConfigException(prefix + key, "must be a mapping");
    }
    known(n, prefix + key + ".", keys);
    return n;
  }

  private static void known(JsonNode n, String prefix, Set<String> keys) {
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!keys.contains(k)) {
        throw new ConfigException(prefix + k, "unknown key (known: " + String.join(", ", new java.util.TreeSet<>(keys)) + ")");
      }
    }
  }

  private static String text(JsonNode n, String key, String field, String def) {
    JsonNode v = n.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return def;
    }
    if (!v.isValueNode()) {
      throw new ConfigException(key, "must be a string");
    }
    return v.asText();
  }

  private static int integer(JsonNode n, String key, String field, int def) {
    JsonNode v = n.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return def;
    }
    if (!v.isIntegralNumber() && !(v.isTextual() && v.asText().matches("-?\\d+"))) {
      throw new ConfigException(key, "must be an integer, got '" + v.asText() + "'");
    }
    return v.asInt();
  }

  private static Duration duration(JsonNode n, String key, String field, Duration def) {
    JsonNode v = n.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return def;
    }
    return parseDuration(key, v.asText());
  }

  /** A duration in the mesh's one grammar ({@link Durations}); errors name {@code key}. */
  public static Duration parseDuration(String key, String text) {
    try {
      return Durations.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  private static Path path(Path base, String p) {
    Path path = Path.of(p);
    return path.isAbsolute() || base == null ? path : base.resolve(path).normalize();
  }
}
