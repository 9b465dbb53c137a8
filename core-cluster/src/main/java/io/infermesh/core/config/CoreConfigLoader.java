package io.infermesh.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.core.engine.WeightPrecision;
import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.telemetry.TelemetryConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Reads {@code core.yaml} into a {@link CoreConfig} with the reader every infermesh config shares
 * ({@link ConfigSection}): unknown keys are errors (a typo should not silently fall back to a
 * default), durations and sizes in the one grammar, errors naming the full key. Relative paths
 * are resolved against the file's directory.
 */
public final class CoreConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private CoreConfigLoader() {}

  /** Reads and validates {@code file}. */
  public static CoreConfig load(Path file) throws IOException {
    return load(file, Map.of());
  }

  /**
   * Reads {@code file} (null: every key at its default), applies {@code overrides} (dotted keys
   * such as {@code grpc.port}, as command-line flags give them) and validates the result.
   *
   * @throws ConfigException naming the file, the full key and the reason, as for every config file
   */
  public static CoreConfig load(Path file, Map<String, String> overrides) throws IOException {
    ObjectNode root;
    Path base;
    if (file == null) {
      root = YAML.createObjectNode();
      base = Path.of("").toAbsolutePath();
    } else {
      JsonNode tree = read(file);
      if (tree != null && !tree.isObject()) {
        throw new IOException(file + ": must be a YAML mapping");
      }
      root = tree == null ? YAML.createObjectNode() : (ObjectNode) tree;
      base = file.toAbsolutePath().getParent();
    }
    for (Map.Entry<String, String> o : overrides.entrySet()) {
      String[] parts = o.getKey().split("\\.");
      ObjectNode at = root;
      for (int i = 0; i < parts.length - 1; i++) {
        JsonNode next = at.path(parts[i]);
        at = next.isObject() ? (ObjectNode) next : at.putObject(parts[i]);
      }
      // a flag's text, typed as YAML would type it: 9443 is a number, true a boolean
      String value = o.getValue();
      String leaf = parts[parts.length - 1];
      if (value.matches("-?\\d{1,18}")) {
        at.put(leaf, Long.parseLong(value));
      } else if (value.equals("true") || value.equals("false")) {
        at.put(leaf, Boolean.parseBoolean(value));
      } else {
        at.put(leaf, value);
      }
    }
    try {
      return parse(root, base);
    } catch (ConfigException e) {
      throw file == null ? e : e.inFile(file.toString());
    }
  }

  private static JsonNode read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "config file not found");
    }
    try {
      return YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException(file + ": not valid YAML: " + e.getMessage(), e);
    }
  }

  /**
   * Builds a config from a parsed YAML tree with the mesh's one config reader ({@link
   * ConfigSection}): every key has a default, unknown keys are refused; {@code base} resolves
   * relative paths.
   */
  public static CoreConfig parse(JsonNode tree, Path base) {
    ConfigSection root = ConfigSection.root(tree, "deploy/core.yaml");
    ConfigSection node = root.section("node");
    ConfigSection grpc = root.section("grpc");
    ConfigSection tls = root.section("tls");
    ConfigSection model = root.section("model");
    ConfigSection engine = root.section("engine");
    ConfigSection upstream = engine.section("upstream");
    ConfigSection sched = root.section("scheduler");
    ConfigSection stage = root.section("stage");
    ConfigSection metrics = root.section("metrics");
    ConfigSection consul = root.section("consul");
    ConfigSection tenants = root.section("tenants");
    ConfigSection audit = root.section("audit");
    ConfigSection leases = root.section("leases");
    ConfigSection signing = leases.section("signing");
    ConfigSection telemetry = root.section("telemetry");

    String name = node.string("name", "core-0");
    Path modelPath = model.path("path", null);
    CoreConfig config = CoreConfig.builder(
            new CoreConfig.Node(name, node.string("region", "local")),
            new CoreConfig.Tls(resolve(base, tls.path("dir", Path.of("certs"))), tls.string("name", name),
                Optional.ofNullable(tls.path("deny_list", null)).map(p -> resolve(base, p))))
        .grpcPort(grpc.integer("port", CoreConfig.DEFAULT_GRPC_PORT))
        .model(CoreConfig.Model.builder(model.string("name", "core"))
            .path(modelPath == null ? null : resolve(base, modelPath))
            .sha256(model.string("sha256", ""))
            .version(model.string("version", ""))
            .device(model.string("device", "auto"))
            .defaultMaxTokens(model.integer("default_max_tokens", CoreConfig.Model.DEFAULT_MAX_TOKENS))
            .build())
        .engine(engine(engine, upstream))
        .scheduler(scheduling(sched))
        .stage(new CoreConfig.Stage(
            stage.integer("index", 0),
            stage.integer("count", 1),
            stage.string("next", "")))
        .metricsPort(metrics.integer("port", CoreConfig.DEFAULT_METRICS_PORT))
        .consul(ConsulConfig.read(consul, CoreConfig.CONSUL_DEFAULT))
        .listen(new CoreConfig.Listen(
            grpc.string("address", CoreConfig.Listen.DEFAULT.grpc()),
            metrics.string("address", CoreConfig.Listen.DEFAULT.metrics())))
        .tenants(tenants(tenants))
        .audit(audit(audit, base))
        .leases(leases(leases, signing, base))
        .telemetry(TelemetryConfig.read(telemetry, CoreConfig.TELEMETRY_DEFAULT))
        .build();
    for (ConfigSection s : List.of(node, grpc, tls, model, upstream, engine, sched, stage, metrics, consul, tenants,
        audit, signing, leases, root)) {
      s.finish();
    }
    return config;
  }

  /**
   * {@code engine}: the type's own keys. The {@code upstream} section is read and checked whatever the
   * type, so a bad value there fails now rather than when the type is switched.
   */
  private static Engine engine(ConfigSection engine, ConfigSection upstream) {
    String type = engine.string("type", "builtin");
    Engine.BuiltIn builtIn = new Engine.BuiltIn(engine.integer("threads", 0), dtype(engine.string("dtype", "float32")));
    Engine.Upstream.Builder forward = Engine.Upstream.builder(upstream.string("url", ""))
        .model(upstream.string("model", ""))
        .timeout(upstream.duration("timeout", Engine.Upstream.DEFAULT_TIMEOUT))
        .health(upstream.string("health_path", Engine.Upstream.DEFAULT_HEALTH_PATH),
            upstream.duration("health_interval", Engine.Upstream.DEFAULT_HEALTH_INTERVAL))
        .apiKey(upstream.string("api_key", ""), upstream.string("api_key_env", ""))
        .contextLength(upstream.integer("context_length", 0));
    return switch (type) {
      case "builtin" -> {
        forward.checkSettings();
        yield builtIn;
      }
      case "upstream" -> forward.build();
      default -> throw new ConfigException("engine.type", "must be builtin or upstream, got '" + type + "'");
    };
  }

  /** {@code engine.dtype}: float32 or float16; bfloat16 and int8 are refused with the reason (see {@link WeightPrecision}). */
  private static WeightPrecision dtype(String name) {
    try {
      return WeightPrecision.parse(name);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("engine.dtype", e.getMessage());
    }
  }

  private static CoreConfig.Scheduling scheduling(ConfigSection n) {
    CoreConfig.Scheduling d = CoreConfig.Scheduling.defaults();
    return CoreConfig.Scheduling.builder()
        .maxQueued(n.integer("max_queued", d.maxQueued()))
        .maxBatchSize(n.integer("max_batch_size", d.maxBatchSize()))
        .maxBatchTokens(n.integer("max_batch_tokens", d.maxBatchTokens()))
        .prefillChunk(n.integer("prefill_chunk", d.prefillChunk()))
        .kvBlocks(n.integer("kv_blocks", d.kvBlocks()), n.integer("kv_block_size", d.kvBlockSize()))
        .contextLength(n.integer("context_length", d.contextLength()))
        .aging(n.duration("aging", d.aging()))
        .prefixCache(n.bool("prefix_cache", d.prefixCache()))
        .build();
  }

  /** {@code tenants:} — vouching roles and IDs, the default limits, the listed tenants' own. */
  private static Tenants tenants(ConfigSection t) {
    Tenants.Builder b = Tenants.builder().enforce(t.bool("enforce", false));
    ConfigSection vouch = t.section("vouch");
    List<String> roles = vouch.strings("roles", List.of("edge", "gateway"));
    Set<Role> vouchRoles = new HashSet<>();
    for (int i = 0; i < roles.size(); i++) {
      String role = roles.get(i);
      vouchRoles.add(checked(vouch.key("roles") + "[" + i + "]", () -> Role.parse(role)));
    }
    b.vouchRoles(vouchRoles);
    List<String> ids = vouch.strings("ids", List.of());
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      b.vouchId(checked(vouch.key("ids") + "[" + i + "]", () -> SpiffeId.parse(id)));
    }
    vouch.finish();
    ConfigSection defaults = t.section("default");
    b.defaults(limits(defaults));
    defaults.finish();
    for (ConfigSection s : t.sections("list")) {
      String name = s.string("name", "");
      Tenants.Limits limits = limits(s);
      checked(s.key("name"), () -> b.tenant(name, limits));
      s.finish();
    }
    return b.build();
  }

  private static Tenants.Limits limits(ConfigSection s) {
    long rpm = s.longValue("requests_per_minute", 0);
    long tpm = s.longValue("tokens_per_minute", 0);
    long day = s.longValue("tokens_per_day", 0);
    long month = s.longValue("tokens_per_month", 0);
    try {
      return new Tenants.Limits(rpm, tpm, day, month);
    } catch (IllegalArgumentException e) { // "key: reason"
      int colon = e.getMessage().indexOf(':');
      throw new ConfigException(s.key(e.getMessage().substring(0, colon)), e.getMessage().substring(colon + 2));
    }
  }

  /** {@code audit:} — off unless {@code enabled}; {@code dir} relative to the file. */
  private static Audit audit(ConfigSection a, Path base) {
    Audit d = Audit.off();
    String fsync = a.string("fsync", "interval");
    return Audit.builder()
        .enabled(a.bool("enabled", false))
        .dir(resolve(base, a.path("dir", d.dir())))
        .rotation(a.bytes("max_file_size", d.maxFileBytes()), a.duration("max_file_age", d.maxFileAge()))
        .fsync(checked(a.key("fsync"), () -> AuditFsync.parse(fsync)),
            a.duration("fsync_interval", d.fsyncInterval()))
        .build();
  }

  /** {@code leases:} — off unless {@code enabled}; {@code signing.dir} relative to the file. */
  private static Leases leases(ConfigSection l, ConfigSection signing, Path base) {
    Leases d = Leases.off();
    Leases.Builder b = Leases.builder()
        .enabled(l.bool("enabled", false))
        .maxTokensPerGrant(l.longValue("max_tokens_per_grant", d.maxTokensPerGrant()))
        .validity(l.duration("validity", d.validity()))
        .clockSkew(l.duration("clock_skew", d.clockSkew()))
        .maxOpenPerDevice(l.integer("max_open_per_device", d.maxOpenPerDevice()));
    String dir = signing.string("dir", "");
    String name = signing.string("name", "");
    if (!dir.isEmpty() || !name.isEmpty()) {
      if (dir.isEmpty() || name.isEmpty()) {
        throw new ConfigException(signing.key(dir.isEmpty() ? "dir" : "name"), "set both dir and name, or neither "
            + "(then the node's own certificate signs)");
      }
      b.signing(new CoreConfig.Tls(resolve(base, Path.of(dir)), name));
    }
    return b.build();
  }

  /** {@code f}'s value; its IllegalArgumentException as a ConfigException naming {@code key}. */
  private static <T> T checked(String key, Supplier<T> f) {
    try {
      return f.get();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  private static Path resolve(Path base, Path path) {
    return path.isAbsolute() || base == null ? path : base.resolve(path).normalize();
  }
}
