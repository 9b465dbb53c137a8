package io.infermesh.edge.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import io.infermesh.node.registration.ConsulConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads {@code edge.yaml} into an {@link EdgeConfig}. Every key has a default (an empty file is a
 * valid configuration, apart from the model path which a flag may supply); unknown keys are refused
 * so that typos do not pass silently; relative paths are resolved against the file's directory.
 * Stateless and thread-safe.
 */
public final class EdgeConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private EdgeConfigLoader() {}

  /**
   * Reads and validates {@code file}.
   *
   * @throws IOException when the file cannot be read
   * @throws ConfigException naming the key when a value is missing, malformed or out of range
   */
  public static EdgeConfig load(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "config file not found");
    }
    Path base = file.toAbsolutePath().getParent();
    try {
      return parse(text, base);
    } catch (ConfigException e) {
      throw e.inFile(file.toString());
    }
  }

  /**
   * Parses YAML text; relative paths resolve against {@code baseDirectory}.
   *
   * @throws ConfigException naming the key when a value is missing, malformed or out of range
   */
  public static EdgeConfig parse(String yaml, Path baseDirectory) {
    JsonNode tree;
    try {
      tree = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException("(yaml)", "not valid YAML: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()));
    }
    ConfigSection root = ConfigSection.root(tree, "deploy/edge.yaml");
    EdgeConfig.Node node = node(root.section("node"));
    EdgeConfig.Model model = model(root.section("model"), baseDirectory);
    EdgeConfig.Http http = http(root.section("http"), baseDirectory);
    EdgeConfig.Grpc grpc = grpc(root.section("grpc"), baseDirectory);
    EdgeConfig.Admission admission = admission(root.section("admission"));
    EdgeConfig.Cache cache = cache(root.section("cache"));
    EdgeConfig.Auth auth = auth(root.section("auth"));
    EdgeConfig.Shutdown shutdown = shutdown(root.section("shutdown"));
    Escalation escalation = escalation(root.section("escalation"), baseDirectory);
    Routing routing = routing(root.section("routing"), baseDirectory);
    ConsulConfig consul = ConsulConfig.read(root.section("consul"), EdgeConfig.CONSUL_DEFAULT);
    Limits limits = limits(root.section("limits"));
    root.finish();
    return new EdgeConfig(node, model, http, grpc, admission, cache, auth, shutdown, escalation, routing, consul,
        limits);
  }

  private static EdgeConfig.Node node(ConfigSection s) {
    EdgeConfig.Node d = EdgeConfig.Node.DEFAULT;
    EdgeConfig.Node node = new EdgeConfig.Node(s.string("name", d.name()), s.string("region", d.region()));
    s.finish();
    return node;
  }

  private static EdgeConfig.Model model(ConfigSection s, Path base) {
    EdgeConfig.Model d = EdgeConfig.Model.DEFAULT;
    Path path = resolve(base, s.path("path", null));
    EdgeConfig.Model model = new EdgeConfig.Model(
        path,
        s.string("name", d.name()),
        s.string("sha256", d.sha256()),
        s.integer("context_size", d.contextSize()),
        s.integer("threads", d.threads()),
        s.integer("parallel", d.parallel()),
        s.string("chat_template", d.chatTemplate()),
        s.integer("default_max_tokens", d.defaultMaxTokens()));
    s.finish();
    return model;
  }

  private static EdgeConfig.Http http(ConfigSection s, Path base) {
    EdgeConfig.Http d = EdgeConfig.Http.DEFAULT;
    String host = s.string("host", d.host());
    int port = s.integer("port", d.port());
    long maxBodyBytes = s.bytes("max_body_bytes", d.maxBodyBytes());
    java.time.Duration flush = s.duration("stream_flush_interval", d.streamFlushInterval());
    Optional<EdgeConfig.HttpTls> tls = s.optionalSection("tls").map(t -> {
      Optional<Path> clientCa = Optional.ofNullable(resolve(base, t.path("client_ca", null)));
      String clientAuth = t.string("client_auth", clientCa.isPresent() ? "require" : "none");
      EdgeConfig.HttpTls value = new EdgeConfig.HttpTls(
          resolve(base, t.path("cert", null)),
          resolve(base, t.path("key", null)),
          clientCa,
          EdgeConfig.ClientAuth.parse(t.key("client_auth"), clientAuth),
          t.duration("refresh_period", EdgeConfig.HttpTls.DEFAULT_REFRESH_PERIOD));
      t.finish();
      return value;
    });
    EdgeConfig.Http http = new EdgeConfig.Http(host, port, maxBodyBytes, flush, tls,
        s.bool("allow_plaintext", d.allowPlaintext()));
    s.finish();
    return http;
  }

  private static EdgeConfig.Grpc grpc(ConfigSection s, Path base) {
    EdgeConfig.Grpc d = EdgeConfig.Grpc.DEFAULT;
    String host = s.string("host", d.host());
    int port = s.integer("port", d.port());
    Optional<EdgeConfig.Tls> tls = s.optionalSection("tls").map(t -> {
      EdgeConfig.Tls value = new EdgeConfig.Tls(
          resolve(base, t.path("cert", null)),
          resolve(base, t.path("key", null)),
          Optional.ofNullable(resolve(base, t.path("client_ca", null))),
          t.strings("allowed_roles", EdgeConfig.Tls.DEFAULT_ALLOWED_ROLES));
      t.finish();
      return value;
    });
    s.finish();
    return new EdgeConfig.Grpc(host, port, tls);
  }

  private static EdgeConfig.Admission admission(ConfigSection s) {
    EdgeConfig.Admission d = EdgeConfig.Admission.DEFAULT;
    EdgeConfig.Admission admission = new EdgeConfig.Admission(
        s.integer("queue_depth", d.queueDepth()),
        s.duration("retry_after", d.retryAfter()),
        s.duration("request_timeout", d.requestTimeout()));
    s.finish();
    return admission;
  }

  private static EdgeConfig.Cache cache(ConfigSection s) {
    EdgeConfig.Cache d = EdgeConfig.Cache.DEFAULT;
    EdgeConfig.Cache cache = new EdgeConfig.Cache(
        s.bool("enabled", d.enabled()), s.bytes("max_bytes", d.maxBytes()), s.duration("ttl", d.ttl()));
    s.finish();
    return cache;
  }

  private static EdgeConfig.Auth auth(ConfigSection s) {
    List<EdgeConfig.Tenant> tenants = new ArrayList<>();
    List<ConfigSection> items = s.sections("tenants");
    for (int i = 0; i < items.size(); i++) {
      ConfigSection t = items.get(i);
      try {
        tenants.add(new EdgeConfig.Tenant(
            t.string("name", null),
            t.strings("keys", List.of()),
            t.longValue("requests_per_minute", 0),
            t.longValue("tokens_per_minute", 0)));
      } catch (ConfigException e) {
        if (!e.key().startsWith("auth.tenants.")) {
          throw e;
        }
        String indexed = "auth.tenants[" + i + "]" + e.key().substring("auth.tenants".length());
        throw new ConfigException(indexed, e.getMessage().substring(e.key().length() + 2), e);
      }
      t.finish();
    }
    s.finish();
    return new EdgeConfig.Auth(tenants);
  }

  private static EdgeConfig.Shutdown shutdown(ConfigSection s) {
    EdgeConfig.Shutdown shutdown = new EdgeConfig.Shutdown(s.duration("grace", EdgeConfig.Shutdown.DEFAULT.grace()));
    s.finish();
    return shutdown;
  }

  private static Escalation escalation(ConfigSection s, Path base) {
    Escalation d = Escalation.NONE;
    String target = s.string("target", "");
    ConfigSection tls = s.section("tls");
    Path dirSet = tls.path("dir", null);
    Path dir = dirSet == null ? d.tlsDir() : resolve(base, dirSet);
    String name = tls.string("name", d.tlsName());
    tls.finish();
    ConfigSection circuit = s.section("circuit");
    int failureRate = circuit.integer("failure_rate", d.failureRate());
    int window = circuit.integer("window", d.window());
    java.time.Duration openFor = circuit.duration("open_for", d.openFor());
    circuit.finish();
    Escalation e = new Escalation(Optional.of(target), dir, name, s.duration("timeout", d.timeout()),
        s.integer("max_attempts", d.maxAttempts()), failureRate, window, openFor, s.bool("fallback", d.fallback()));
    s.finish();
    return e;
  }

  private static Limits limits(ConfigSection s) {
    Limits d = Limits.DEFAULT;
    Limits limits = new Limits(
        s.integer("max_messages", d.maxMessages()),
        s.bytes("max_input_bytes", d.maxInputBytes()),
        s.duration("header_timeout", d.headerTimeout()),
        s.duration("idle_timeout", d.idleTimeout()),
        s.integer("max_connections", d.maxConnections()));
    s.finish();
    return limits;
  }

  private static Routing routing(ConfigSection s, Path base) {
    Routing d = Routing.DEFAULT;
    String rate = s.string("target_rate", "");
    Routing r = new Routing(
        s.strings("core_models", d.coreModels()),
        s.strings("local_only_tenants", d.localOnlyTenants()),
        s.string("scorer", d.scorer()),
        Optional.ofNullable(resolve(base, s.path("training_file", null))),
        number(s.key("threshold"), s.string("threshold", String.valueOf(d.threshold()))),
        rate.isEmpty() ? java.util.OptionalDouble.empty()
            : java.util.OptionalDouble.of(number(s.key("target_rate"), rate)),
        s.integer("window", d.window()),
        s.duration("default_budget", d.defaultBudget()),
        cascade(s.section("cascade")));
    s.finish();
    return r;
  }

  private static Cascade cascade(ConfigSection s) {
    Cascade d = Cascade.DISABLED;
    Cascade c = new Cascade(s.bool("enabled", d.enabled()), s.integer("samples", d.samples()),
        s.integer("sample_max_tokens", d.sampleMaxTokens()),
        number(s.key("temperature"), s.string("temperature", String.valueOf(d.temperature()))),
        number(s.key("min_agreement"), s.string("min_agreement", String.valueOf(d.minAgreement()))));
    s.finish();
    return c;
  }

  private static double number(String key, String text) {
    try {
      return Double.parseDouble(text.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key, "must be a number, got '" + text + "'");
    }
  }

  private static Path resolve(Path base, Path path) {
    if (path == null || path.isAbsolute() || base == null) {
      return path;
    }
    return base.resolve(path).normalize();
  }
}
