package io.infermesh.edge.config;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.privacy.PrivacyPolicies;
import io.infermesh.node.config.ConfigException;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.telemetry.TelemetryConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The whole configuration of an edge agent, as read from {@code edge.yaml} ({@link
 * EdgeConfigLoader}) and overridden by command-line flags ({@code with*} methods). Immutable;
 * built with {@link #builder()} (every section at its default until set), and every record
 * with more than a few settings has a builder of its own ({@code Model.builder().contextSize(512)
 * .build()}); each validates itself when built and names the offending key in its {@link
 * ConfigException}.
 *
 * @param node who this agent is in the mesh
 * @param model the GGUF model and how the engine runs it
 * @param http the OpenAI-compatible HTTP API
 * @param grpc the {@code infermesh.v1.Inference} gRPC API
 * @param admission the bounded admission queue and per-request limits
 * @param cache the response cache
 * @param auth API keys and tenants
 * @param shutdown how long a clean shutdown waits for requests in flight
 * @param escalation the core to escalate to over mTLS gRPC (none by default)
 * @param routing the router's rules and difficulty threshold
 * @param consul registration in the local Consul agent (off by default)
 * @param limits the front door's bounds on what one client may send and hold
 * @param privacy the named privacy policies (sensitive data masked, blocked or kept on the edge); off by default
 * @param audit the audit log of request decisions; off by default
 * @param leases token budgets leased by the core, spent while it cannot be reached; off by default
 * @param telemetry where traces go ({@code telemetry:}); off by default
 * @param reanswer deferred re-answers of degraded answers by the core; off by default
 * @param batch the OpenAI Files and Batch APIs and their durable store; off by default
 * @param engine what answers the local tier: llama.cpp in process (default) or an upstream server
 */
public record EdgeConfig(
    Node node, Model model, Http http, Grpc grpc, Admission admission, Cache cache, Auth auth, Shutdown shutdown,
    Escalation escalation, Routing routing, ConsulConfig consul, Limits limits, Privacy privacy,
    Audit audit, Leases leases, TelemetryConfig telemetry,
    Reanswer reanswer, Batches batch, LocalEngine engine) {

  /**
   * An edge's {@code consul:} defaults: no registration until {@code consul.address} is set,
   * service {@code edge-inference} (not a core service, whose policy expects role core), its
   * instant load published (no {@code utilization_window}).
   */
  public static final ConsulConfig CONSUL_DEFAULT = ConsulConfig.node("edge-inference").build();

  /** An edge's {@code telemetry:} defaults: tracing off, spans named {@code infermesh-edge}. */
  public static final TelemetryConfig TELEMETRY_DEFAULT = TelemetryConfig.off("infermesh-edge");

  public EdgeConfig {
    requireNonNull(node, "node");
    requireNonNull(model, "model");
    requireNonNull(http, "http");
    requireNonNull(grpc, "grpc");
    requireNonNull(admission, "admission");
    requireNonNull(cache, "cache");
    requireNonNull(auth, "auth");
    requireNonNull(shutdown, "shutdown");
    requireNonNull(escalation, "escalation");
    requireNonNull(routing, "routing");
    requireNonNull(consul, "consul");
    requireNonNull(limits, "limits");
    requireNonNull(privacy, "privacy");
    requireNonNull(audit, "audit");
    requireNonNull(leases, "leases");
    if (leases.enabled() && !escalation.enabled()) {
      throw new ConfigException("leases.enabled", "needs escalation.target: the core grants the leases");
    }
    requireNonNull(telemetry, "telemetry");
    requireNonNull(reanswer, "reanswer");
    if (reanswer.enabled() && !escalation.enabled()) {
      throw new ConfigException("reanswer.enabled", "re-answers come from the core: set escalation.target too");
    }
    requireNonNull(batch, "batch");
    requireNonNull(engine, "engine");
    if (engine instanceof LocalEngine.Upstream) {
      requireInProcessModelUnused(model, routing);
    }
    for (int i = 0; i < auth.tenants().size(); i++) {
      String policy = auth.tenants().get(i).privacyPolicy();
      if (!policy.isEmpty() && !privacy.defines(policy)) {
        throw new ConfigException("auth.tenants[" + i + "].privacy_policy", "names policy '" + policy
            + "', which privacy.policies does not define");
      }
    }
  }

  /** Every section at its default until set; the model path must come from {@code model.path} or a flag. */
  public static Builder builder() {
    return new Builder();
  }

  /** Every key at its default; the model path is unset and must come from a flag. */
  public static EdgeConfig defaults() {
    return builder().build();
  }

  /** A builder holding this configuration, to replace some sections. */
  public Builder toBuilder() {
    return builder().node(node).model(model).http(http).grpc(grpc).admission(admission).cache(cache).auth(auth)
        .shutdown(shutdown).escalation(escalation).routing(routing).consul(consul).limits(limits).privacy(privacy).audit(audit)
        .leases(leases)
        .telemetry(telemetry)
        .reanswer(reanswer)
        .batch(batch)
        .engine(engine);
  }

  /**
   * With {@code engine.type: upstream} no llama.cpp model is loaded in process: the keys that only
   * configure it, and the features that need it (embeddings for the learned router and for
   * calibration), are refused here rather than ignored.
   */
  private static void requireInProcessModelUnused(Model model, Routing routing) {
    String why = " (engine.type is upstream: no model is loaded in process)";
    if (model.path() != null) {
      throw new ConfigException("model.path", "must not be set: the upstream server loads the model" + why);
    }
    if (model.sha256() != null) {
      throw new ConfigException("model.sha256", "must not be set: the edge cannot check the upstream's file" + why);
    }
    if (model.threads() != Model.DEFAULT.threads()) {
      throw new ConfigException("model.threads", "must not be set: threads are the upstream server's flag" + why);
    }
    if (model.parallel() != Model.DEFAULT.parallel()) {
      throw new ConfigException("model.parallel", "must not be set: use engine.upstream.max_concurrency" + why);
    }
    if (!model.chatTemplate().equals(Model.DEFAULT.chatTemplate())) {
      throw new ConfigException("model.chat_template", "must not be set: chats are sent as messages and the"
          + " upstream applies its model's own template" + why);
    }
    if (routing.scorer().equals("learned")) {
      throw new ConfigException("routing.scorer", "learned needs embeddings of the in-process model; use features"
          + why);
    }
    if (routing.calibration().enabled()) {
      throw new ConfigException("routing.calibration.enabled", "calibration needs embeddings of the in-process"
          + " model" + why);
    }
  }

  /** This configuration with {@code model.path} replaced (the {@code --model} flag). */
  public EdgeConfig withModelPath(Path path) {
    return withModel(model.toBuilder().path(path).build());
  }

  /** This configuration with {@code model} replaced. */
  public EdgeConfig withModel(Model newModel) {
    return toBuilder().model(newModel).build();
  }

  /** This configuration with {@code http.port} replaced (the {@code --http-port} flag). */
  public EdgeConfig withHttpPort(int port) {
    return withHttp(http.toBuilder().port(port).build());
  }

  /** This configuration with {@code http.host} replaced (the address the OpenAI API binds). */
  public EdgeConfig withHttpHost(String host) {
    return withHttp(http.toBuilder().host(host).build());
  }

  /** This configuration with {@code http} replaced. */
  public EdgeConfig withHttp(Http newHttp) {
    return toBuilder().http(newHttp).build();
  }

  /** This configuration with {@code grpc.port} replaced (the {@code --grpc-port} flag). */
  public EdgeConfig withGrpcPort(int port) {
    return withGrpc(new Grpc(grpc.host, port, grpc.tls));
  }

  /** This configuration with {@code grpc} replaced. */
  public EdgeConfig withGrpc(Grpc newGrpc) {
    return toBuilder().grpc(newGrpc).build();
  }

  /** This configuration with {@code admission} replaced. */
  public EdgeConfig withAdmission(Admission newAdmission) {
    return toBuilder().admission(newAdmission).build();
  }

  /** This configuration with {@code cache} replaced. */
  public EdgeConfig withCache(Cache newCache) {
    return toBuilder().cache(newCache).build();
  }

  /** This configuration with {@code auth} replaced. */
  public EdgeConfig withAuth(Auth newAuth) {
    return toBuilder().auth(newAuth).build();
  }

  /** This configuration with {@code escalation} replaced. */
  public EdgeConfig withEscalation(Escalation newEscalation) {
    return toBuilder().escalation(newEscalation).build();
  }

  /** This configuration with {@code routing} replaced. */
  public EdgeConfig withRouting(Routing newRouting) {
    return toBuilder().routing(newRouting).build();
  }

  /** This configuration with {@code consul} replaced. */
  public EdgeConfig withConsul(ConsulConfig newConsul) {
    return toBuilder().consul(newConsul).build();
  }

  /** This configuration with {@code limits} replaced. */
  public EdgeConfig withLimits(Limits newLimits) {
    return toBuilder().limits(newLimits).build();
  }

  /** This configuration with {@code reanswer} replaced. */
  public EdgeConfig withReanswer(Reanswer newReanswer) {
    return toBuilder().reanswer(newReanswer).build();
  }

  /** This configuration with {@code batch} replaced. */
  public EdgeConfig withBatch(Batches newBatch) {
    return toBuilder().batch(newBatch).build();
  }

  /** This configuration with {@code audit} replaced. */
  public EdgeConfig withAudit(Audit newAudit) {
    return toBuilder().audit(newAudit).build();
  }

  /** This configuration with {@code privacy} replaced. */
  public EdgeConfig withPrivacy(Privacy newPrivacy) {
    return toBuilder().privacy(newPrivacy).build();
  }

  /** The privacy policies at run time: the {@code privacy:} section with each tenant's {@code privacy_policy}. */
  public PrivacyPolicies privacyPolicies() {
    Map<String, String> byTenant = new HashMap<>();
    auth.tenants().stream().filter(t -> !t.privacyPolicy().isEmpty())
        .forEach(t -> byTenant.put(t.name(), t.privacyPolicy()));
    return privacy.compile(byTenant);
  }

  /** This configuration with {@code shutdown} replaced. */
  public EdgeConfig withShutdown(Shutdown newShutdown) {
    return toBuilder().shutdown(newShutdown).build();
  }

  /**
   * Configures an {@link EdgeConfig} section by section; a section not set keeps its default
   * ({@code Node.DEFAULT}, {@code Model.DEFAULT}, …, {@link Escalation#NONE}, {@link
   * EdgeConfig#CONSUL_DEFAULT}). Not thread-safe.
   */
  public static final class Builder {
    private Node node = Node.DEFAULT;
    private Model model = Model.DEFAULT;
    private Http http = Http.DEFAULT;
    private Grpc grpc = Grpc.DEFAULT;
    private Admission admission = Admission.DEFAULT;
    private Cache cache = Cache.DEFAULT;
    private Auth auth = Auth.NONE;
    private Shutdown shutdown = Shutdown.DEFAULT;
    private Escalation escalation = Escalation.NONE;
    private Routing routing = Routing.DEFAULT;
    private ConsulConfig consul = CONSUL_DEFAULT;
    private Limits limits = Limits.DEFAULT;
    private Privacy privacy = Privacy.NONE;
    private Audit audit = Audit.NONE;
    private Leases leases = Leases.NONE;
    private TelemetryConfig telemetry = TELEMETRY_DEFAULT;
    private Reanswer reanswer = Reanswer.NONE;
    private Batches batch = Batches.NONE;
    private LocalEngine engine = LocalEngine.BUILTIN;

    private Builder() {}

    /** What answers the local tier ({@link LocalEngine#BUILTIN} by default). */
    public Builder engine(LocalEngine engine) {
      this.engine = requireNonNull(engine, "engine");
      return this;
    }

    public Builder node(Node node) {
      this.node = requireNonNull(node, "node");
      return this;
    }

    public Builder model(Model model) {
      this.model = requireNonNull(model, "model");
      return this;
    }

    public Builder http(Http http) {
      this.http = requireNonNull(http, "http");
      return this;
    }

    public Builder grpc(Grpc grpc) {
      this.grpc = requireNonNull(grpc, "grpc");
      return this;
    }

    public Builder admission(Admission admission) {
      this.admission = requireNonNull(admission, "admission");
      return this;
    }

    public Builder cache(Cache cache) {
      this.cache = requireNonNull(cache, "cache");
      return this;
    }

    public Builder auth(Auth auth) {
      this.auth = requireNonNull(auth, "auth");
      return this;
    }

    public Builder shutdown(Shutdown shutdown) {
      this.shutdown = requireNonNull(shutdown, "shutdown");
      return this;
    }

    public Builder escalation(Escalation escalation) {
      this.escalation = requireNonNull(escalation, "escalation");
      return this;
    }

    public Builder routing(Routing routing) {
      this.routing = requireNonNull(routing, "routing");
      return this;
    }

    /** An edge's {@code consul:} section; start from {@link EdgeConfig#CONSUL_DEFAULT}. */
    public Builder consul(ConsulConfig consul) {
      this.consul = requireNonNull(consul, "consul");
      return this;
    }

    public Builder limits(Limits limits) {
      this.limits = requireNonNull(limits, "limits");
      return this;
    }

    /** The {@code privacy:} section ({@link Privacy#NONE} by default). */
    public Builder privacy(Privacy privacy) {
      this.privacy = requireNonNull(privacy, "privacy");
      return this;
    }

    /** The {@code audit:} section ({@link Audit#NONE} by default). */
    public Builder audit(Audit audit) {
      this.audit = requireNonNull(audit, "audit");
      return this;
    }

    /** The {@code leases:} section ({@link Leases#NONE} by default). */
    public Builder leases(Leases leases) {
      this.leases = requireNonNull(leases, "leases");
      return this;
    }

    /** The {@code telemetry:} section ({@link EdgeConfig#TELEMETRY_DEFAULT}: off). */
    public Builder telemetry(TelemetryConfig telemetry) {
      this.telemetry = requireNonNull(telemetry, "telemetry");
      return this;
    }

    /** The {@code reanswer:} section ({@link Reanswer#NONE} by default). */
    public Builder reanswer(Reanswer reanswer) {
      this.reanswer = requireNonNull(reanswer, "reanswer");
      return this;
    }

    /** The {@code batch:} section ({@link Batches#NONE} by default). */
    public Builder batch(Batches batch) {
      this.batch = requireNonNull(batch, "batch");
      return this;
    }

    public EdgeConfig build() {
      return new EdgeConfig(node, model, http, grpc, admission, cache, auth, shutdown, escalation, routing, consul,
          limits, privacy, audit, leases, telemetry, reanswer, batch, engine);
    }
  }

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  static void requirePort(String key, int port) {
    if (port < 0 || port > 65535) {
      throw new ConfigException(key, "must be a port number in [0, 65535] (0 picks a free port), got " + port);
    }
  }

  static void requirePositive(String key, Duration value) {
    requireNonNull(value, key);
    if (value.isNegative() || value.isZero()) {
      throw new ConfigException(key, "must be positive, got " + value);
    }
  }

  static void requireHost(String key, String host) {
    if (host == null || host.isBlank()) {
      throw new ConfigException(key, "must be a host name or address, e.g. 0.0.0.0 or 127.0.0.1");
    }
  }

  /**
   * Who this agent is: the name and region that appear in {@code ServedBy} and in logs.
   *
   * @param name a lower-case DNS label, e.g. {@code shop-42}
   * @param region a lower-case DNS label, e.g. {@code eu-west}
   */
  public record Node(String name, String region) {
    public static final Node DEFAULT = new Node("edge", "local");

    public Node {
      if (name == null || !DNS_LABEL.matcher(name).matches()) {
        throw new ConfigException("node.name", "must be a lower-case DNS label such as shop-42, got " + name);
      }
      if (region == null || !DNS_LABEL.matcher(region).matches()) {
        throw new ConfigException("node.region", "must be a lower-case DNS label such as eu-west, got " + region);
      }
    }
  }

  /**
   * The model and how the engine runs it.
   *
   * @param path the GGUF file; {@code null} until set by {@code model.path} or {@code --model}
   * @param name the name clients use in {@code model}; {@code null} means the file name without
   *     {@code .gguf}
   * @param sha256 the expected SHA-256 of the file in hex; {@code null} skips the check
   * @param contextSize tokens per request (prompt + completion); the engine allocates {@code
   *     contextSize × parallel}
   * @param threads decode threads; 0 picks one per two cores (1 on a 2-core machine)
   * @param parallel requests generated at the same time (llama.cpp slots)
   * @param chatTemplate {@code auto} (from the model's metadata, falling back to ChatML; tools
   *     through the model's own template when it renders them as the mesh parses them), {@code
   *     checkpoint} (the model's own Jinja template for every chat) or a template name: {@code
   *     chatml}, {@code llama3}, {@code llama2}, {@code gemma}, {@code phi3}
   * @param defaultMaxTokens the completion budget of a request that sets none (capped by the
   *     context left after the prompt)
   */
  public record Model(
      Path path, String name, String sha256, int contextSize, int threads, int parallel, String chatTemplate,
      int defaultMaxTokens) {
    /** The template names {@code model.chat_template} accepts. */
    public static final Set<String> CHAT_TEMPLATES = Set.of("auto", "checkpoint", "chatml", "llama3", "llama2", "gemma",
        "phi3");
    private static final Pattern HEX_SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** No file yet, 2048 tokens of context, threads auto, one slot, template auto, 256 tokens by default. */
    public static final Model DEFAULT = new Builder().build();

    public Model {
      if (name != null && name.isBlank()) {
        name = null;
      }
      if (sha256 != null) {
        sha256 = sha256.strip().toLowerCase(Locale.ROOT);
        if (sha256.startsWith("sha256:")) {
          sha256 = sha256.substring("sha256:".length());
        }
        if (sha256.isEmpty()) {
          sha256 = null;
        } else if (!HEX_SHA256.matcher(sha256).matches()) {
          throw new ConfigException("model.sha256", "must be 64 hex digits, got " + sha256.length() + " characters");
        }
      }
      if (contextSize < 64 || contextSize > 1 << 20) {
        throw new ConfigException("model.context_size", "must be in [64, 1048576] tokens, got " + contextSize);
      }
      if (threads < 0 || threads > 512) {
        throw new ConfigException("model.threads", "must be in [0, 512] (0 = auto), got " + threads);
      }
      if (parallel < 1 || parallel > 256) {
        throw new ConfigException("model.parallel", "must be in [1, 256], got " + parallel);
      }
      if (chatTemplate == null || !CHAT_TEMPLATES.contains(chatTemplate)) {
        throw new ConfigException("model.chat_template",
            "must be one of " + CHAT_TEMPLATES.stream().sorted().toList() + ", got " + chatTemplate);
      }
      if (defaultMaxTokens < 1 || defaultMaxTokens > contextSize) {
        throw new ConfigException("model.default_max_tokens",
            "must be in [1, model.context_size=" + contextSize + "], got " + defaultMaxTokens);
      }
    }

    /** The name clients use: {@link #name()} or the file name without {@code .gguf}. */
    public String effectiveName() {
      if (name != null) {
        return name;
      }
      if (path == null) {
        return "edge-model";
      }
      String file = path.getFileName().toString();
      return file.toLowerCase(Locale.ROOT).endsWith(".gguf") ? file.substring(0, file.length() - 5) : file;
    }

    /** The thread count for a machine with {@code cores} cores: {@link #threads()} or half the cores. */
    public int effectiveThreads(int cores) {
      return threads > 0 ? threads : Math.max(1, cores / 2);
    }

    /** The expected digest, when one is configured. */
    public Optional<String> expectedSha256() {
      return Optional.ofNullable(sha256);
    }

    /** Settings at {@link #DEFAULT} until set. */
    public static Builder builder() {
      return new Builder();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
      return new Builder().path(path).name(name).sha256(sha256).contextSize(contextSize).threads(threads)
          .parallel(parallel).chatTemplate(chatTemplate).defaultMaxTokens(defaultMaxTokens);
    }

    /** Configures a {@link Model}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
    public static final class Builder {
      private Path path;
      private String name;
      private String sha256;
      private int contextSize = 2048;
      private int threads;
      private int parallel = 1;
      private String chatTemplate = "auto";
      private int defaultMaxTokens = 256;

      private Builder() {}

      /** {@code model.path}; default none (then {@code --model} must give it). */
      public Builder path(Path path) {
        this.path = path;
        return this;
      }

      /** {@code model.name}; default null: the file name without {@code .gguf}. */
      public Builder name(String name) {
        this.name = name;
        return this;
      }

      /** {@code model.sha256}; default null: not checked. */
      public Builder sha256(String sha256) {
        this.sha256 = sha256;
        return this;
      }

      /** {@code model.context_size}; default 2048. */
      public Builder contextSize(int contextSize) {
        this.contextSize = contextSize;
        return this;
      }

      /** {@code model.threads}; default 0: one per two cores. */
      public Builder threads(int threads) {
        this.threads = threads;
        return this;
      }

      /** {@code model.parallel}; default 1. */
      public Builder parallel(int parallel) {
        this.parallel = parallel;
        return this;
      }

      /** {@code model.chat_template}; default {@code auto}. */
      public Builder chatTemplate(String chatTemplate) {
        this.chatTemplate = chatTemplate;
        return this;
      }

      /** {@code model.default_max_tokens}; default 256. */
      public Builder defaultMaxTokens(int defaultMaxTokens) {
        this.defaultMaxTokens = defaultMaxTokens;
        return this;
      }

      /** @throws ConfigException naming the first key whose value breaks its rule */
      public Model build() {
        return new Model(path, name, sha256, contextSize, threads, parallel, chatTemplate, defaultMaxTokens);
      }
    }
  }

  /**
   * The OpenAI-compatible HTTP API.
   *
   * @param host the address to bind (loopback by default); with no API keys and no required client
   *     certificates only loopback is used; any other address needs {@code tls} or {@code
   *     allowPlaintext}, else the agent refuses to start
   * @param port the port; 0 picks a free one
   * @param maxBodyBytes the largest request body accepted (larger ones get 413)
   * @param streamFlushInterval the least time between two flushes of one SSE stream: tokens that
   *     arrive faster go out together, a token after a pause goes out at once; zero flushes every
   *     event
   * @param tls HTTPS instead of plain HTTP (empty: plain HTTP)
   * @param allowPlaintext whether plain HTTP may be served on an address other than loopback (when
   *     TLS ends in front of the agent: a sidecar, a load balancer)
   * @param maxThreads the most threads Jetty runs requests on ({@code http.max_threads}); a request
   *     holds one while it is answered (a stream, an escalation), further requests queue for one
   * @param selectors Jetty's selector threads ({@code http.selectors}); 0 picks {@link
   *     #effectiveSelectors(int)}'s default
   */
  public record Http(String host, int port, long maxBodyBytes, Duration streamFlushInterval, Optional<HttpTls> tls,
      boolean allowPlaintext, int maxThreads, int selectors) {
    /** {@code http.max_threads} unless set (see the edge-agent README's "Front path" for the measurement). */
    public static final int DEFAULT_MAX_THREADS = 250;
    /** The fewest request threads: Jetty's acceptors and selectors lease up to 8 of the pool. */
    public static final int MIN_THREADS = 16;
    /** Plain HTTP on 127.0.0.1:8080, bodies up to 1MiB, SSE flushed at most every 2ms, 250 request threads. */
    public static final Http DEFAULT = new Builder().build();

    public Http {
      requireHost("http.host", host);
      requirePort("http.port", port);
      if (maxBodyBytes < 1024 || maxBodyBytes > 1L << 30) {
        throw new ConfigException("http.max_body_bytes", "must be in [1KiB, 1GiB], got " + maxBodyBytes);
      }
      if (streamFlushInterval == null || streamFlushInterval.isNegative()
          || streamFlushInterval.compareTo(Duration.ofSeconds(1)) > 0) {
        throw new ConfigException("http.stream_flush_interval", "must be in [0ms, 1s], got " + streamFlushInterval);
      }
      requireNonNull(tls, "http.tls");
      if (maxThreads < MIN_THREADS || maxThreads > 10_000) {
        throw new ConfigException("http.max_threads", "must be in [" + MIN_THREADS + ", 10000], got " + maxThreads);
      }
      if (selectors < 0 || selectors > 64) {
        throw new ConfigException("http.selectors", "must be in [0, 64] (0: one per two cores, 2 to 4), got "
            + selectors);
      }
    }

    /**
     * The selector threads for a machine with {@code cores} cores: {@link #selectors()}, or one per
     * two cores but at least 2 and at most 4. Jetty's own default gives a 2-core machine 1, and
     * there every connection's wake-up went through that one selector's lock; 2 measured a lower
     * p99 (edge-agent README, "The front path under wrk").
     */
    public int effectiveSelectors(int cores) {
      return selectors > 0 ? selectors : Math.max(2, Math.min(4, cores / 2));
    }

    /** Settings at {@link #DEFAULT} until set. */
    public static Builder builder() {
      return new Builder();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
      return new Builder().host(host).port(port).maxBodyBytes(maxBodyBytes).streamFlushInterval(streamFlushInterval)
          .tls(tls).allowPlaintext(allowPlaintext).maxThreads(maxThreads)
          .selectors(selectors);
    }

    /** These settings on another address. */
    public Http withHost(String newHost) {
      return toBuilder().host(newHost).build();
    }

    /** These settings on another port. */
    public Http withPort(int newPort) {
      return toBuilder().port(newPort).build();
    }

    /** These settings with {@code http.tls} replaced. */
    public Http withTls(Optional<HttpTls> newTls) {
      return toBuilder().tls(newTls).build();
    }

    /** Whether the API is served over HTTPS. */
    public boolean secure() {
      return tls.isPresent();
    }

    /** Configures {@link Http}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
    public static final class Builder {
      private String host = "127.0.0.1";
      private int port = 8080;
      private long maxBodyBytes = 1 << 20;
      private Duration streamFlushInterval = Duration.ofMillis(2);
      private Optional<HttpTls> tls = Optional.empty();
      private boolean allowPlaintext;
      private int maxThreads = DEFAULT_MAX_THREADS;
      private int selectors;

      private Builder() {}

      /** {@code http.host}; default {@code 127.0.0.1}. */
      public Builder host(String host) {
        this.host = host;
        return this;
      }

      /** {@code http.port}; default 8080, 0 picks a free one. */
      public Builder port(int port) {
        this.port = port;
        return this;
      }

      /** {@code http.max_body_bytes}; default 1MiB. */
      public Builder maxBodyBytes(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
        return this;
      }

      /** {@code http.stream_flush_interval}; default 2ms. */
      public Builder streamFlushInterval(Duration streamFlushInterval) {
        this.streamFlushInterval = streamFlushInterval;
        return this;
      }

      /** {@code http.tls}: HTTPS; default none, plain HTTP. */
      public Builder tls(HttpTls tls) {
        return tls(Optional.of(requireNonNull(tls, "tls")));
      }

      /** {@code http.tls}, or none. */
      public Builder tls(Optional<HttpTls> tls) {
        this.tls = requireNonNull(tls, "tls");
        return this;
      }

      /** {@code http.allow_plaintext}; default false: plain HTTP on loopback only. */
      public Builder allowPlaintext(boolean allowPlaintext) {
        this.allowPlaintext = allowPlaintext;
        return this;
      }

      /** {@code http.max_threads}; default {@value Http#DEFAULT_MAX_THREADS}. */
      public Builder maxThreads(int maxThreads) {
        this.maxThreads = maxThreads;
        return this;
      }

      /** {@code http.selectors}; default 0: one per two cores, at least 2, at most 4. */
      public Builder selectors(int selectors) {
        this.selectors = selectors;
        return this;
      }

      /** @throws ConfigException naming the first key whose value breaks its rule */
      public Http build() {
        return new Http(host, port, maxBodyBytes, streamFlushInterval, tls, allowPlaintext, maxThreads, selectors);
      }
    }
  }

  /**
   * HTTPS on the HTTP API: PEM files, re-read every {@code refreshPeriod} so that a rotated
   * certificate (or client CA bundle) is used by new connections without a restart.
   *
   * @param certificateChain PEM certificate chain, leaf first ({@code http.tls.cert}); its names
   *     must match the host clients dial
   * @param privateKey the leaf's PEM private key ({@code http.tls.key})
   * @param clientCa PEM CA bundle that client certificates must chain to ({@code http.tls.client_ca})
   * @param clientAuth whether clients must present a certificate ({@code http.tls.client_auth})
   * @param refreshPeriod how often the files are re-read ({@code http.tls.refresh_period})
   */
  public record HttpTls(Path certificateChain, Path privateKey, Optional<Path> clientCa, ClientAuth clientAuth,
      Duration refreshPeriod) {
    public static final Duration DEFAULT_REFRESH_PERIOD = Duration.ofMinutes(1);

    public HttpTls {
      if (certificateChain == null) {
        throw new ConfigException("http.tls.cert", "is required when http.tls is set (a PEM chain, leaf first)");
      }
      if (privateKey == null) {
        throw new ConfigException("http.tls.key", "is required when http.tls is set (the PEM key of http.tls.cert)");
      }
      requireNonNull(clientCa, "http.tls.client_ca");
      requireNonNull(clientAuth, "http.tls.client_auth");
      if (clientAuth != ClientAuth.NONE && clientCa.isEmpty()) {
        throw new ConfigException("http.tls.client_ca", "is required when http.tls.client_auth is "
            + clientAuth.configName() + ": the PEM CA bundle client certificates must chain to");
      }
      if (clientAuth == ClientAuth.NONE && clientCa.isPresent()) {
        throw new ConfigException("http.tls.client_auth", "is none, so http.tls.client_ca would be ignored;"
            + " set client_auth: optional or require, or remove client_ca");
      }
      requirePositive("http.tls.refresh_period", refreshPeriod);
    }

    /** Server certificate only: clients are not asked for one. */
    public static HttpTls serverOnly(Path certificateChain, Path privateKey) {
      return builder(certificateChain, privateKey).build();
    }

    /**
     * HTTPS with this certificate chain and key ({@code http.tls.cert}, {@code http.tls.key}; either
     * null fails in {@link Builder#build()} naming its key).
     */
    public static Builder builder(Path certificateChain, Path privateKey) {
      return new Builder(certificateChain, privateKey);
    }

    /** Configures {@link HttpTls}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
    public static final class Builder {
      private final Path certificateChain;
      private final Path privateKey;
      private Optional<Path> clientCa = Optional.empty();
      private ClientAuth clientAuth;
      private Duration refreshPeriod = DEFAULT_REFRESH_PERIOD;

      private Builder(Path certificateChain, Path privateKey) {
        this.certificateChain = certificateChain;
        this.privateKey = privateKey;
      }

      /** {@code http.tls.client_ca}, the bundle client certificates must chain to; default none. */
      public Builder clientCa(Path clientCa) {
        this.clientCa = Optional.of(requireNonNull(clientCa, "clientCa"));
        return this;
      }

      /** {@code http.tls.client_auth}; default {@code require} with a client CA, else {@code none}. */
      public Builder clientAuth(ClientAuth clientAuth) {
        this.clientAuth = requireNonNull(clientAuth, "clientAuth");
        return this;
      }

      /** {@code http.tls.refresh_period}; default 1m. */
      public Builder refreshPeriod(Duration refreshPeriod) {
        this.refreshPeriod = refreshPeriod;
        return this;
      }

      /** @throws ConfigException naming the first key whose value breaks its rule */
      public HttpTls build() {
        ClientAuth auth = clientAuth != null ? clientAuth : clientCa.isPresent() ? ClientAuth.REQUIRE : ClientAuth.NONE;
        return new HttpTls(certificateChain, privateKey, clientCa, auth, refreshPeriod);
      }
    }
  }

  /** Whether HTTPS clients must present a certificate that chains to {@code http.tls.client_ca}. */
  public enum ClientAuth {
    /** Clients are not asked for a certificate. */
    NONE,
    /** Clients are asked; one that sends a certificate must send a valid one, one that sends none is served. */
    OPTIONAL,
    /** A client without a valid certificate fails the TLS handshake. */
    REQUIRE;

    /** The value as written in {@code edge.yaml}. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code none}, {@code optional} or {@code require}.
     *
     * @throws ConfigException naming {@code key} for any other value
     */
    public static ClientAuth parse(String key, String value) {
      for (ClientAuth c : values()) {
        if (c.configName().equals(value)) {
          return c;
        }
      }
      throw new ConfigException(key, "must be none, optional or require, got '" + value + "'");
    }
  }

  /**
   * The gRPC API. It runs only with TLS (plaintext is refused): without {@code grpc.tls} it is off.
   *
   * @param host the address to bind; with no API keys and no client certificates required only
   *     loopback is used
   * @param port the port; 0 picks a free one
   * @param tls the server certificate, and the CA that client certificates must chain to for mTLS
   */
  public record Grpc(String host, int port, Optional<Tls> tls) {
    public static final Grpc DEFAULT = new Grpc("0.0.0.0", 9090, Optional.empty());

    public Grpc {
      requireHost("grpc.host", host);
      requirePort("grpc.port", port);
      requireNonNull(tls, "grpc.tls");
    }

    /** Whether the gRPC API runs (it needs TLS). */
    public boolean enabled() {
      return tls.isPresent();
    }
  }

  /**
   * TLS material of the gRPC server.
   *
   * @param certificateChain PEM certificate chain, leaf first
   * @param privateKey the leaf's PEM private key
   * @param clientCa PEM CA bundle; when set, callers must present a mesh certificate (mTLS), the
   *     files are re-read when rotated, and calls are authorized by the caller's SPIFFE role
   * @param allowedRoles the SPIFFE roles allowed to call {@code Inference} under mTLS
   */
  public record Tls(Path certificateChain, Path privateKey, Optional<Path> clientCa, List<String> allowedRoles) {
    public static final List<String> DEFAULT_ALLOWED_ROLES = List.of("gateway", "operator");
    private static final Set<String> ROLES = Set.of("edge", "core", "control", "gateway", "operator");

    public Tls {
      if (certificateChain == null) {
        throw new ConfigException("grpc.tls.cert", "is required when grpc.tls is set");
      }
      if (privateKey == null) {
        throw new ConfigException("grpc.tls.key", "is required when grpc.tls is set");
      }
      requireNonNull(clientCa, "grpc.tls.client_ca");
      allowedRoles = List.copyOf(requireNonNull(allowedRoles, "grpc.tls.allowed_roles"));
      if (allowedRoles.isEmpty()) {
        throw new ConfigException("grpc.tls.allowed_roles", "must name at least one role of " + ROLES);
      }
      for (String role : allowedRoles) {
        if (!ROLES.contains(role)) {
          throw new ConfigException("grpc.tls.allowed_roles", "unknown role '" + role + "', expected one of "
              + ROLES.stream().sorted().toList());
        }
      }
    }

    /** Whether callers must present a client certificate. */
    public boolean mutual() {
      return clientCa.isPresent();
    }

    /** The gRPC server's certificate chain and key ({@code grpc.tls.cert}, {@code grpc.tls.key}). */
    public static Builder builder(Path certificateChain, Path privateKey) {
      return new Builder(certificateChain, privateKey);
    }

    /** Configures {@link Tls}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
    public static final class Builder {
      private final Path certificateChain;
      private final Path privateKey;
      private Optional<Path> clientCa = Optional.empty();
      private List<String> allowedRoles = DEFAULT_ALLOWED_ROLES;

      private Builder(Path certificateChain, Path privateKey) {
        this.certificateChain = certificateChain;
        this.privateKey = privateKey;
      }

      /** {@code grpc.tls.client_ca}: mTLS, callers authorized by their role; default none (TLS only). */
      public Builder clientCa(Path clientCa) {
        this.clientCa = Optional.of(requireNonNull(clientCa, "clientCa"));
        return this;
      }

      /** {@code grpc.tls.allowed_roles}; default gateway and operator. */
      public Builder allowedRoles(List<String> allowedRoles) {
        this.allowedRoles = allowedRoles;
        return this;
      }

      /** @throws ConfigException naming the first key whose value breaks its rule */
      public Tls build() {
        return new Tls(certificateChain, privateKey, clientCa, allowedRoles);
      }
    }
  }

  /**
   * Bounded admission in front of the engine and the limits of one request.
   *
   * @param queueDepth requests that may wait for a free slot; one more is refused (HTTP 429, gRPC
   *     RESOURCE_EXHAUSTED)
   * @param retryAfter the back-off hint sent with a refusal
   * @param requestTimeout the longest a request may take, queueing included (a shorter gRPC
   *     deadline wins)
   */
  public record Admission(int queueDepth, Duration retryAfter, Duration requestTimeout) {
    public static final Admission DEFAULT = new Admission(16, Duration.ofSeconds(1), Duration.ofMinutes(5));

    public Admission {
      if (queueDepth < 0 || queueDepth > 100_000) {
        throw new ConfigException("admission.queue_depth", "must be in [0, 100000], got " + queueDepth);
      }
      requirePositive("admission.retry_after", retryAfter);
      requirePositive("admission.request_timeout", requestTimeout);
    }
  }

  /**
   * The response cache for deterministic requests (temperature 0 or a fixed seed).
   *
   * @param enabled whether answers are cached
   * @param maxBytes the most memory cached answers may use (approximate)
   * @param ttl how long an answer stays cached
   */
  public record Cache(boolean enabled, long maxBytes, Duration ttl) {
    public static final Cache DEFAULT = new Cache(true, 64L << 20, Duration.ofMinutes(10));

    public Cache {
      if (maxBytes < 0) {
        throw new ConfigException("cache.max_bytes", "must not be negative, got " + maxBytes);
      }
      requirePositive("cache.ttl", ttl);
    }
  }

  /**
   * API keys. Empty means no authentication, and then both APIs listen on loopback only (unless
   * HTTPS clients must present certificates: {@code http.tls.client_auth: require}).
   *
   * @param tenants the tenants and their keys
   * @param jwt bearer JWTs accepted beside the keys ({@code auth.jwt}); empty: keys only
   */
  public record Auth(List<Tenant> tenants, Optional<JwtAuth> jwt) {
    public static final Auth NONE = new Auth(List.of());

    /** API keys only. */
    public Auth(List<Tenant> tenants) {
      this(tenants, Optional.empty());
    }

    public Auth {
      requireNonNull(jwt, "auth.jwt");
      tenants = List.copyOf(requireNonNull(tenants, "auth.tenants"));
      Set<String> names = new HashSet<>();
      Set<String> keys = new HashSet<>();
      for (int i = 0; i < tenants.size(); i++) {
        Tenant t = tenants.get(i);
        if (!names.add(t.name())) {
          throw new ConfigException("auth.tenants[" + i + "].name", "duplicate tenant '" + t.name() + "'");
        }
        for (String key : t.keys()) {
          if (!keys.add(key)) {
            throw new ConfigException("auth.tenants[" + i + "].keys", "a key is listed twice (keys must be unique)");
          }
        }
      }
    }

    /** Whether some tenant has a token quota per day or month. */
    public boolean quotas() {
      return tenants.stream().anyMatch(t -> t.tokensPerDay() > 0 || t.tokensPerMonth() > 0);
    }

    /** Whether requests must carry an API key or a JWT. */
    public boolean enabled() {
      return !tenants.isEmpty() || jwt.isPresent();
    }
  }

  /**
   * One tenant: its API keys and its rate limits (0 means unlimited).
   *
   * @param name the tenant name used in metrics, logs and {@code GenerateRequest.tenant}
   * @param keys bearer tokens that identify the tenant
   * @param requestsPerMinute requests admitted per minute
   * @param tokensPerMinute prompt + completion tokens per minute
   * @param privacyPolicy the {@code privacy.policies} name that applies to its requests; empty: {@code
   *     privacy.default_policy}
   * @param tokensPerDay prompt + completion tokens per UTC day, reserved at admission (prompt +
   *     max_tokens) and settled at the end, so no request overdraws it; 0: no quota
   * @param tokensPerMonth the same per UTC month
   */
  public record Tenant(String name, List<String> keys, long requestsPerMinute, long tokensPerMinute,
      String privacyPolicy, long tokensPerDay, long tokensPerMonth) {
    /** A tenant under the default privacy policy, without token quotas. */
    public Tenant(String name, List<String> keys, long requestsPerMinute, long tokensPerMinute) {
      this(name, keys, requestsPerMinute, tokensPerMinute, "", 0, 0);
    }

    public Tenant {
      requireNonNull(privacyPolicy, "auth.tenants.privacy_policy");
      if (name == null || !DNS_LABEL.matcher(name).matches()) {
        throw new ConfigException("auth.tenants.name", "must be a lower-case DNS label, got " + name);
      }
      keys = List.copyOf(requireNonNull(keys, "auth.tenants.keys"));
      if (keys.isEmpty()) {
        throw new ConfigException("auth.tenants.keys", "tenant '" + name + "' needs at least one key");
      }
      for (String key : keys) {
        if (key == null || key.length() < 8 || key.chars().anyMatch(c -> c <= ' ' || c > '~')) {
          throw new ConfigException("auth.tenants.keys",
              "tenant '" + name + "': keys must be at least 8 printable ASCII characters without spaces");
        }
      }
      if (requestsPerMinute < 0) {
        throw new ConfigException("auth.tenants.requests_per_minute", "must not be negative, got " + requestsPerMinute);
      }
      if (tokensPerDay < 0) {
        throw new ConfigException("auth.tenants.tokens_per_day", "must not be negative, got " + tokensPerDay);
      }
      if (tokensPerMonth < 0) {
        throw new ConfigException("auth.tenants.tokens_per_month", "must not be negative, got " + tokensPerMonth);
      }
      if (tokensPerMinute < 0) {
        throw new ConfigException("auth.tenants.tokens_per_minute", "must not be negative, got " + tokensPerMinute);
      }
    }

    /** Tenant {@code name} ({@code auth.tenants[i].name}), unlimited until limits are set; it needs a key. */
    public static Builder builder(String name) {
      return new Builder(name);
    }

    /** Configures a {@link Tenant}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
    public static final class Builder {
      private final String name;
      private List<String> keys = List.of();
      private long requestsPerMinute;
      private long tokensPerMinute;
      private String privacyPolicy = "";
      private long tokensPerDay;
      private long tokensPerMonth;

      private Builder(String name) {
        this.name = name;
      }

      /** {@code keys}: the bearer tokens, at least one. */
      public Builder keys(List<String> keys) {
        this.keys = keys;
        return this;
      }

      /** {@code keys}: the bearer tokens, at least one. */
      public Builder keys(String... keys) {
        return keys(List.of(keys));
      }

      /** {@code requests_per_minute}; default 0: unlimited. */
      public Builder requestsPerMinute(long requestsPerMinute) {
        this.requestsPerMinute = requestsPerMinute;
        return this;
      }

      /** {@code tokens_per_minute}; default 0: unlimited. */
      public Builder tokensPerMinute(long tokensPerMinute) {
        this.tokensPerMinute = tokensPerMinute;
        return this;
      }

      /** {@code privacy_policy}: a name from {@code privacy.policies}; default empty: the default policy. */
      public Builder privacyPolicy(String privacyPolicy) {
        this.privacyPolicy = requireNonNull(privacyPolicy, "privacyPolicy");
        return this;
      }

      /** {@code tokens_per_day}; default 0: no daily quota. */
      public Builder tokensPerDay(long tokensPerDay) {
        this.tokensPerDay = tokensPerDay;
        return this;
      }

      /** {@code tokens_per_month}; default 0: no monthly quota. */
      public Builder tokensPerMonth(long tokensPerMonth) {
        this.tokensPerMonth = tokensPerMonth;
        return this;
      }

      /** @throws ConfigException naming the first key whose value breaks its rule */
      public Tenant build() {
        return new Tenant(name, keys, requestsPerMinute, tokensPerMinute, privacyPolicy, tokensPerDay, tokensPerMonth);
      }
    }
  }

  /**
   * Clean shutdown.
   *
   * @param grace how long requests in flight may run on after SIGTERM before they are cancelled
   */
  public record Shutdown(Duration grace) {
    public static final Shutdown DEFAULT = new Shutdown(Duration.ofSeconds(10));

    public Shutdown {
      requireNonNull(grace, "shutdown.grace");
      if (grace.isNegative()) {
        throw new ConfigException("shutdown.grace", "must not be negative, got " + grace);
      }
    }
  }
}
