package io.infermesh.edge.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.edge.privacy.PrivacyAction;
import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.config.ConfigSection;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.telemetry.TelemetryConfig;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
    EdgeConfig.Builder config = EdgeConfig.builder()
        .node(node(root.section("node")))
        .model(model(root.section("model"), baseDirectory))
        .http(http(root.section("http"), baseDirectory))
        .grpc(grpc(root.section("grpc"), baseDirectory))
        .admission(admission(root.section("admission")))
        .cache(cache(root.section("cache")))
        .auth(auth(root.section("auth"), baseDirectory))
        .shutdown(shutdown(root.section("shutdown")))
        .escalation(escalation(root.section("escalation"), baseDirectory))
        .routing(routing(root.section("routing"), baseDirectory))
        .consul(ConsulConfig.read(root.section("consul"), EdgeConfig.CONSUL_DEFAULT))
        .limits(limits(root.section("limits")))
        .privacy(privacy(root.section("privacy")))
        .audit(audit(root.section("audit"), baseDirectory))
        .leases(leases(root.section("leases"), baseDirectory))
        .telemetry(TelemetryConfig.read(root.section("telemetry"), EdgeConfig.TELEMETRY_DEFAULT))
        .reanswer(reanswer(root.section("reanswer"), baseDirectory))

        .batch(batch(root.section("batch"), baseDirectory))
        .engine(engine(root.section("engine"), baseDirectory));
    root.finish();
    return config.build();
  }

  /**
   * {@code engine:}: {@code type} builtin (default, with its optional {@code native_library}) or
   * upstream, with its keys under {@code upstream}.
   */
  private static LocalEngine engine(ConfigSection s, Path base) {
    String type = s.string("type", LocalEngine.BUILTIN.type());
    ConfigSection u = s.section("upstream");
    Path nativeLibrary = s.path("native_library", null);
    s.finish(); // a misplaced key (engine.url) is named before any value is judged
    if (type.equals("builtin")) {
      if (s.has("upstream")) {
        throw new ConfigException(s.key("upstream"), "is only read with engine.type: upstream (engine.type is builtin)");
      }
      return nativeLibrary == null ? LocalEngine.BUILTIN
          : new LocalEngine.BuiltIn(Optional.of(resolve(base, nativeLibrary)));
    }
    if (!type.equals("upstream")) {
      throw new ConfigException(s.key("type"), "must be builtin or upstream, got '" + type + "'");
    }
    if (nativeLibrary != null) {
      throw new ConfigException(s.key("native_library"),
          "is only read with engine.type: builtin (the upstream server has its own llama.cpp)");
    }
    LocalEngine.Upstream.Builder b = LocalEngine.Upstream.builder(u.string("url", null))
        .model(u.string("model", ""))
        .timeout(u.duration("timeout", LocalEngine.Upstream.DEFAULT_TIMEOUT))
        .apiKeyEnv(u.string("api_key_env", ""))
        .maxConcurrency(u.integer("max_concurrency", LocalEngine.Upstream.DEFAULT_MAX_CONCURRENCY));
    u.finish();
    return u.build(b::build);
  }

  private static EdgeConfig.Node node(ConfigSection s) {
    EdgeConfig.Node d = EdgeConfig.Node.DEFAULT;
    EdgeConfig.Node node = new EdgeConfig.Node(s.string("name", d.name()), s.string("region", d.region()));
    s.finish();
    return node;
  }

  private static EdgeConfig.Model model(ConfigSection s, Path base) {
    EdgeConfig.Model d = EdgeConfig.Model.DEFAULT;
    EdgeConfig.Model.Builder model = EdgeConfig.Model.builder()
        .path(resolve(base, s.path("path", null)))
        .name(s.string("name", d.name()))
        .sha256(s.string("sha256", d.sha256()))
        .contextSize(s.integer("context_size", d.contextSize()))
        .threads(s.integer("threads", d.threads()))
        .parallel(s.integer("parallel", d.parallel()))
        .chatTemplate(s.string("chat_template", d.chatTemplate()))
        .defaultMaxTokens(s.integer("default_max_tokens", d.defaultMaxTokens()));
    s.finish();
    return model.build();
  }

  private static EdgeConfig.Http http(ConfigSection s, Path base) {
    EdgeConfig.Http d = EdgeConfig.Http.DEFAULT;
    EdgeConfig.Http.Builder http = EdgeConfig.Http.builder()
        .host(s.string("host", d.host()))
        .port(s.integer("port", d.port()))
        .maxBodyBytes(s.bytes("max_body_bytes", d.maxBodyBytes()))
        .streamFlushInterval(s.duration("stream_flush_interval", d.streamFlushInterval()))
        .tls(s.optionalSection("tls").map(t -> {
          EdgeConfig.HttpTls.Builder tls = EdgeConfig.HttpTls.builder(
                  resolve(base, t.path("cert", null)), resolve(base, t.path("key", null)))
              .refreshPeriod(t.duration("refresh_period", EdgeConfig.HttpTls.DEFAULT_REFRESH_PERIOD));
          Path clientCa = resolve(base, t.path("client_ca", null));
          if (clientCa != null) {
            tls.clientCa(clientCa);
          }
          String clientAuth = t.string("client_auth", null);
          if (clientAuth != null) {
            tls.clientAuth(EdgeConfig.ClientAuth.parse(t.key("client_auth"), clientAuth));
          }
          t.finish();
          return tls.build();
        }))
        .allowPlaintext(s.bool("allow_plaintext", d.allowPlaintext()))
        .maxThreads(s.integer("max_threads", d.maxThreads()))
        .selectors(s.integer("selectors", d.selectors()));
    s.finish();
    return http.build();
  }

  private static EdgeConfig.Grpc grpc(ConfigSection s, Path base) {
    EdgeConfig.Grpc d = EdgeConfig.Grpc.DEFAULT;
    String host = s.string("host", d.host());
    int port = s.integer("port", d.port());
    Optional<EdgeConfig.Tls> tls = s.optionalSection("tls").map(t -> {
      EdgeConfig.Tls.Builder files = EdgeConfig.Tls.builder(
              resolve(base, t.path("cert", null)), resolve(base, t.path("key", null)))
          .allowedRoles(t.strings("allowed_roles", EdgeConfig.Tls.DEFAULT_ALLOWED_ROLES));
      Path clientCa = resolve(base, t.path("client_ca", null));
      if (clientCa != null) {
        files.clientCa(clientCa);
      }
      t.finish();
      return files.build();
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

  private static EdgeConfig.Auth auth(ConfigSection s, Path base) {
    List<EdgeConfig.Tenant> tenants = new ArrayList<>();
    List<ConfigSection> items = s.sections("tenants");
    for (int i = 0; i < items.size(); i++) {
      ConfigSection t = items.get(i);
      EdgeConfig.Tenant.Builder tenant = EdgeConfig.Tenant.builder(t.string("name", null))
          .keys(t.strings("keys", List.of()))
          .requestsPerMinute(t.longValue("requests_per_minute", 0))
          .tokensPerMinute(t.longValue("tokens_per_minute", 0))
          .privacyPolicy(t.string("privacy_policy", ""))
          .tokensPerDay(t.longValue("tokens_per_day", 0))
          .tokensPerMonth(t.longValue("tokens_per_month", 0));
      try {
        tenants.add(tenant.build());
      } catch (ConfigException e) {
        if (!e.key().startsWith("auth.tenants.")) {
          throw e;
        }
        // the record knows its keys, not its index in the list
        throw new ConfigException(t.key() + e.key().substring("auth.tenants".length()), e.reason(), e);
      }
      t.finish();
    }
    Optional<JwtAuth> jwt = s.optionalSection("jwt").map(j -> jwt(j, base));
    s.finish();
    return new EdgeConfig.Auth(tenants, jwt);
  }

  private static JwtAuth jwt(ConfigSection s, Path base) {
    JwtAuth.Builder jwt = JwtAuth.builder(s.string("issuer", ""), s.string("audience", ""))
        .clockSkew(s.duration("clock_skew", JwtAuth.DEFAULT_SKEW))
        .refresh(s.duration("refresh", JwtAuth.DEFAULT_REFRESH))
        .claims(s.string("tenant_claim", "tenant"), s.string("priority_claim", "priority"),
            s.string("privacy_claim", "privacy_policy"));
    Path file = s.path("jwks_file", null);
    if (file != null) {
      jwt.jwksFile(resolve(base, file));
    }
    String url = s.string("jwks_url", null);
    if (url != null) {
      try {
        jwt.jwksUrl(new URI(url));
      } catch (URISyntaxException e) {
        throw new ConfigException(s.key("jwks_url"), "must be an https:// URL: " + e.getMessage(), e);
      }
    }
    s.finish();
    return jwt.build();
  }

  /**
   * {@code privacy:}: {@code default_policy} and {@code policies}, each with its name, the built-in
   * kinds per action ({@code mask: [EMAIL]}, {@code block: […]}, {@code local_only: […]}) and its own
   * detectors ({@code words: [{kind, values, action}]}, {@code regexes: [{kind, pattern, action}]}), and
   * {@code output} ({@code redact}, the default, or {@code pass}: whether answers are filtered).
   */
  private static Privacy privacy(ConfigSection s) {
    List<Privacy.Policy> policies = new ArrayList<>();
    for (ConfigSection p : s.sections("policies")) {
      Map<String, PrivacyAction> actions = new LinkedHashMap<>();
      for (PrivacyAction action : PrivacyAction.values()) {
        String key = action.name().toLowerCase(Locale.ROOT);
        for (String kind : p.strings(key, List.of())) {
          if (actions.put(kind, action) != null) {
            throw new ConfigException(p.key(key), "detector " + kind + " is given two actions");
          }
        }
      }
      Map<String, List<String>> words = new LinkedHashMap<>();
      for (ConfigSection w : p.sections("words")) {
        String kind = w.string("kind", "");
        words.put(kind, w.strings("values", List.of()));
        ownAction(w, kind, actions);
      }
      Map<String, String> regexes = new LinkedHashMap<>();
      for (ConfigSection r : p.sections("regexes")) {
        String kind = r.string("kind", "");
        regexes.put(kind, r.string("pattern", ""));
        ownAction(r, kind, actions);
      }
      String name = p.string("name", "");
      String output = p.string("output", "redact");
      if (!output.equals("redact") && !output.equals("pass")) {
        throw new ConfigException(p.key("output"), "must be redact or pass, got '" + output + "'");
      }
      p.finish();
      try {
        policies.add(new Privacy.Policy(name, actions, words, regexes, output.equals("redact")));
      } catch (ConfigException e) {
        if (!e.key().startsWith("privacy.policies.")) {
          throw e;
        }
        // the record knows its keys, not its index in the list
        throw new ConfigException(p.key() + e.key().substring("privacy.policies".length()), e.reason(), e);
      }
    }
    Privacy privacy = s.build(() -> new Privacy(policies, s.string("default_policy", "")));
    s.finish();
    return privacy;
  }

  private static void ownAction(ConfigSection s, String kind, Map<String, PrivacyAction> actions) {
    String action = s.string("action", "mask");
    PrivacyAction parsed;
    try {
      parsed = PrivacyAction.parse(action);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(s.key("action"), e.getMessage(), e);
    }
    if (actions.put(kind, parsed) != null) {
      throw new ConfigException(s.key("kind"), "detector " + kind + " is defined twice");
    }
    s.finish();
  }

  private static Leases leases(ConfigSection s, Path base) {
    Leases d = Leases.NONE;
    String file = s.string("file", "");
    Leases leases = s.build(() -> new Leases(s.bool("enabled", d.enabled()),
        file.isEmpty() ? Optional.empty() : Optional.of(resolve(base, Path.of(file))), s.strings("tenants", d.tenants()),
        s.longValue("tokens_per_grant", d.tokensPerGrant()), s.longValue("renew_below", d.renewBelow()),
        s.duration("renew_before", d.renewBefore()), s.duration("sync_interval", d.syncInterval())));
    s.finish();
    return leases;
  }

  private static Audit audit(ConfigSection s, Path base) {
    Audit d = Audit.NONE;
    Path dir = resolve(base, s.path("directory", null));
    String fsync = s.string("fsync", null);
    AuditFsync mode = d.fsync();
    if (fsync != null) {
      try {
        mode = AuditFsync.parse(fsync);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(s.key("fsync"), e.getMessage(), e);
      }
    }
    AuditFsync chosen = mode;
    Audit audit = s.build(() -> new Audit(Optional.ofNullable(dir), s.bytes("max_file_bytes", d.maxFileBytes()),
        s.duration("max_file_age", d.maxFileAge()), chosen, s.duration("fsync_interval", d.fsyncInterval())));
    s.finish();
    return audit;
  }

  private static Reanswer reanswer(ConfigSection s, Path base) {
    Reanswer d = Reanswer.NONE;
    Path dir = resolve(base, s.path("data_dir", null));
    Optional<Reanswer.Webhook> webhook = s.optionalSection("webhook").map(w -> {
      String url = w.string("url", null);
      if (url == null) {
        throw new ConfigException(w.key("url"), "is required in a webhook");
      }
      URI uri;
      try {
        uri = new URI(url);
      } catch (URISyntaxException e) {
        throw new ConfigException(w.key("url"), "not a URL: " + e.getMessage(), e);
      }
      String secret = w.string("secret", "");
      Reanswer.Webhook hook = w.build(() -> new Reanswer.Webhook(uri, secret, w.integer("max_attempts", 8),
          w.duration("backoff", Duration.ofSeconds(1))));
      w.finish();
      return hook;
    });
    Reanswer reanswer = s.build(() -> new Reanswer(s.bool("enabled", d.enabled()), Optional.ofNullable(dir),
        s.integer("max_entries", d.maxEntries()), s.bytes("max_bytes", d.maxBytes()), s.duration("ttl", d.ttl()),
        s.duration("replay_timeout", d.replayTimeout()), s.strings("tenants", d.tenants()), webhook));
    s.finish();
    return reanswer;
  }

  private static Batches batch(ConfigSection s, Path base) {
    Batches d = Batches.NONE;
    Batches.Store store = Batches.Store.parse(s.key("store"), s.string("store", "sqlite"));
    Path dir = resolve(base, s.path("data_dir", null));
    Batches batch = s.build(() -> new Batches(s.bool("enabled", d.enabled()), store, Optional.ofNullable(dir),
        s.string("jdbc_url", d.jdbcUrl()), s.string("user", d.user()), s.string("password", d.password()),
        s.integer("concurrency", d.concurrency()), s.bytes("max_file_bytes", d.maxFileBytes()),
        s.integer("max_lines", d.maxLines()), s.duration("completion_window", d.completionWindow()),
        s.duration("lease", d.lease())));
    s.finish();
    return batch;
  }

  private static EdgeConfig.Shutdown shutdown(ConfigSection s) {
    EdgeConfig.Shutdown shutdown = new EdgeConfig.Shutdown(s.duration("grace", EdgeConfig.Shutdown.DEFAULT.grace()));
    s.finish();
    return shutdown;
  }

  private static Escalation escalation(ConfigSection s, Path base) {
    Escalation d = Escalation.NONE;
    Escalation.Builder escalation = Escalation.builder().target(s.string("target", ""));
    ConfigSection tls = s.section("tls");
    Path dir = tls.path("dir", null);
    escalation.tls(dir == null ? d.tlsDir() : resolve(base, dir), tls.string("name", d.tlsName()));
    if (tls.has("renew")) {
      escalation.renew(renewal(tls.section("renew")));
    }
    tls.finish();
    ConfigSection circuit = s.section("circuit");
    escalation.circuit(circuit.integer("failure_rate", d.failureRate()), circuit.integer("window", d.window()),
        circuit.duration("open_for", d.openFor()));
    circuit.finish();
    escalation.timeout(s.duration("timeout", d.timeout()))
        .maxAttempts(s.integer("max_attempts", d.maxAttempts()))
        .fallback(s.bool("fallback", d.fallback()));
    s.optionalSection("shadow").ifPresent(sh -> {
      String version = sh.string("version", "");
      double fraction = sh.number("fraction", 0.01);
      int maxInFlight = sh.integer("max_in_flight", Shadow.DEFAULT_MAX_IN_FLIGHT);
      escalation.shadow(sh.build(() -> new Shadow(version, fraction, maxInFlight)));
      sh.finish();
    });
    s.finish();
    return escalation.build();
  }

  private static Renewal renewal(ConfigSection s) {
    Renewal.Builder renewal = Renewal.builder(s.string("signer", ""));
    String before = s.string("before", null);
    if (before != null) {
      renewal.before(Renewal.Before.parse(before));
    }
    Renewal built = s.build(() -> renewal.timeout(s.duration("timeout", Renewal.DEFAULT_TIMEOUT))
        .backoff(s.duration("backoff", Renewal.DEFAULT_BACKOFF), s.duration("max_backoff", Renewal.DEFAULT_MAX_BACKOFF))
        .build());
    s.finish();
    return built;
  }

  private static Limits limits(ConfigSection s) {
    Limits d = Limits.DEFAULT;
    Limits.Builder limits = Limits.builder()
        .maxMessages(s.integer("max_messages", d.maxMessages()))
        .maxInputBytes(s.bytes("max_input_bytes", d.maxInputBytes()))
        .headerTimeout(s.duration("header_timeout", d.headerTimeout()))
        .idleTimeout(s.duration("idle_timeout", d.idleTimeout()))
        .maxConnections(s.integer("max_connections", d.maxConnections()));
    s.finish();
    return limits.build();
  }

  private static Routing routing(ConfigSection s, Path base) {
    Routing d = Routing.DEFAULT;
    Routing.Builder routing = Routing.builder()
        .coreModels(s.strings("core_models", d.coreModels()))
        .localOnlyTenants(s.strings("local_only_tenants", d.localOnlyTenants()))
        .scorer(s.string("scorer", d.scorer()))
        .trainingFile(Optional.ofNullable(resolve(base, s.path("training_file", null))))
        .threshold(s.number("threshold", d.threshold()))
        .window(s.integer("window", d.window()))
        .defaultBudget(s.duration("default_budget", d.defaultBudget()))
        .cascade(cascade(s.section("cascade")))
        .calibration(calibration(s.section("calibration"), base));
    if (s.has("target_rate")) {
      routing.targetRate(s.number("target_rate", 0));
    }
    s.finish();
    return routing.build();
  }

  private static Calibration calibration(ConfigSection s, Path base) {
    Calibration d = Calibration.DISABLED;
    Calibration.Builder calibration = Calibration.builder()
        .enabled(s.bool("enabled", d.enabled()))
        .target(s.string("target", d.target().text()))
        .shadowFraction(s.number("shadow_fraction", d.shadowFraction()))
        .agreementThreshold(s.number("agreement_threshold", d.agreementThreshold()))
        .learningRate(s.number("learning_rate", d.learningRate()))
        .l2(s.number("l2", d.l2()))
        .step(s.number("step", d.step()))
        .initialThreshold(s.number("initial_threshold", d.initialThreshold()))
        .stateFile(Optional.ofNullable(resolve(base, s.path("state_file", null))))
        .concurrency(s.integer("concurrency", d.concurrency()))
        .queue(s.integer("queue", d.queue()))
        .timeout(s.duration("timeout", d.timeout()));
    s.finish();
    return calibration.build();
  }

  private static Cascade cascade(ConfigSection s) {
    Cascade d = Cascade.DISABLED;
    Cascade.Builder cascade = Cascade.builder()
        .enabled(s.bool("enabled", d.enabled()))
        .samples(s.integer("samples", d.samples()))
        .sampleMaxTokens(s.integer("sample_max_tokens", d.sampleMaxTokens()))
        .temperature(s.number("temperature", d.temperature()))
        .minAgreement(s.number("min_agreement", d.minAgreement()));
    s.finish();
    return cascade.build();
  }

  private static Path resolve(Path base, Path path) {
    if (path == null || path.isAbsolute() || base == null) {
      return path;
    }
    return base.resolve(path).normalize();
  }
}
