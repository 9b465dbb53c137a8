package io.infermesh.core.config;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.telemetry.TelemetryConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a core node is configured with ({@code core.yaml}), immutable and validated: every
 * key has a default, and a bad value fails naming the key and the reason. Built with {@link
 * #builder(Node, Tls)}.
 *
 * @param node who this node is (name and region; its SPIFFE ID comes from its certificate)
 * @param grpcPort port of the mTLS gRPC server (0 picks a free one)
 * @param tls where the node's certificate, key and trust bundle live
 * @param model the model to serve
 * @param engine {@link Engine.BuiltIn} (the DJL engine) or {@link Engine.Upstream} (forward to an OpenAI-compatible server)
 * @param scheduler batching and queueing limits
 * @param stage this node's place in a pipeline ({@code 0/1} when not sharded)
 * @param metricsPort port of the Prometheus {@code /metrics} endpoint (0 picks one, -1 disables)
 * @param consul registration with the local Consul agent ({@link #CONSUL_DEFAULT}: none)
 * @param listen the addresses the gRPC server and the plain-HTTP metrics port bind
 * @param tenants who may name a request's tenant, and each tenant's limits ({@link Tenants#off()} by default)
 * @param audit the audit log of the calls this node serves ({@link Audit#off()} by default)
 * @param leases token budgets granted to edge devices ({@link Leases#off()} by default)
 * @param telemetry where traces go ({@link #TELEMETRY_DEFAULT}: off)
 */
public record CoreConfig(
    Node node, int grpcPort, Tls tls, Model model, Engine engine, Scheduling scheduler, Stage stage, int metricsPort,
    ConsulConfig consul, Listen listen, Tenants tenants, Audit audit, Leases leases, TelemetryConfig telemetry) {

  public static final int DEFAULT_GRPC_PORT = 9443;
  public static final int DEFAULT_METRICS_PORT = 9464;
  /**
   * A core's {@code consul:} defaults: no registration until {@code consul.address} is set,
   * service {@code core-inference} (the one xds-control watches), its load smoothed over 10s.
   */
  public static final ConsulConfig CONSUL_DEFAULT = ConsulConfig.node("core-inference")
      .utilizationWindow(Duration.ofSeconds(10)).build();

  /** A core's {@code telemetry:} defaults: tracing off, spans named {@code infermesh-core}. */
  public static final TelemetryConfig TELEMETRY_DEFAULT = TelemetryConfig.off("infermesh-core");

  public CoreConfig {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(engine, "engine");
    Objects.requireNonNull(scheduler, "scheduler");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(consul, "consul");
    if (consul.registration().flatMap(ConsulConfig.Registration::utilizationWindow).isEmpty()) {
      throw new ConfigException("consul", "a core registers with a utilization window; start from "
          + "CoreConfig.CONSUL_DEFAULT");
    }
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(tenants, "tenants");
    Objects.requireNonNull(audit, "audit");
    Objects.requireNonNull(leases, "leases");
    Objects.requireNonNull(telemetry, "telemetry");
    port("grpc.port", grpcPort, false);
    port("metrics.port", metricsPort, true);
  }

  /**
   * A config for the node {@code node} with its credentials in {@code tls}; every other part at its
   * default (the defaults of {@code deploy/core.yaml}) until set.
   */
  public static Builder builder(Node node, Tls tls) {
    return new Builder(node, tls);
  }

  /** This config with {@code consul} instead. */
  public CoreConfig withConsul(ConsulConfig newConsul) {
    return new CoreConfig(node, grpcPort, tls, model, engine, scheduler, stage, metricsPort, newConsul, listen, tenants,
        audit, leases, telemetry);
  }

  /** This config with the servers bound to {@code newListen} instead. */
  public CoreConfig withListen(Listen newListen) {
    return new CoreConfig(node, grpcPort, tls, model, engine, scheduler, stage, metricsPort, consul, newListen, tenants,
        audit, leases, telemetry);
  }

  /**
   * Where the node's servers listen. The gRPC server is mutual TLS, so every interface is a safe
   * default for a node that edges reach over the network; the metrics port is plain HTTP and
   * defaults to loopback, so nothing unauthenticated is exposed unless the config says so (in
   * Kubernetes, {@code 0.0.0.0} or the pod IP, for the kubelet's probes and Prometheus).
   *
   * @param grpc the gRPC server's bind address ({@code grpc.address})
   * @param metrics the {@code /metrics}, {@code /healthz}, {@code /readyz} bind address ({@code metrics.address})
   */
  public record Listen(String grpc, String metrics) {
    /** gRPC on every interface, metrics on loopback. */
    public static final Listen DEFAULT = new Listen("0.0.0.0", "127.0.0.1");

    public Listen {
      grpc = address("grpc.address", grpc);
      metrics = address("metrics.address", metrics);
    }

    /** Both servers on loopback only, as {@code infermesh up} runs them. */
    public static Listen loopback() {
      return new Listen("127.0.0.1", "127.0.0.1");
    }

    private static String address(String key, String value) {
      if (value == null || value.isBlank()) {
        throw new ConfigException(key, "must be an IP address or host name, e.g. 0.0.0.0 or 127.0.0.1");
      }
      if (value.strip().chars().anyMatch(c -> Character.isWhitespace(c) || c == '/')) {
        throw new ConfigException(key, "must be one IP address or host name, got '" + value + "'");
      }
      return value.strip();
    }
  }

  static void port(String key, int port, boolean allowDisabled) {
    if ((port < 0 && !(allowDisabled && port == -1)) || port > 65_535) {
      throw new ConfigException(key, "must be a port in 0..65535" + (allowDisabled ? " or -1" : "") + ", got " + port);
    }
  }

  /** This node's name and region. */
  public record Node(String name, String region) {
    public Node {
      if (name == null || name.isBlank()) {
        throw new ConfigException("node.name", "must not be empty");
      }
      if (region == null || region.isBlank()) {
        throw new ConfigException("node.region", "must not be empty");
      }
    }
  }

  /**
   * The node's credentials: {@code <dir>/<name>.crt}, {@code .key} and the trust bundle {@code ca.crt};
   * and the deny list of revoked callers ({@code tls.deny_list}), refused {@code PERMISSION_DENIED}
   * even while their certificates are valid.
   */
  public record Tls(Path dir, String name, Optional<Path> denyList) {
    public Tls {
      Objects.requireNonNull(dir, "tls.dir");
      if (name == null || name.isBlank()) {
        throw new ConfigException("tls.name", "must not be empty");
      }
      Objects.requireNonNull(denyList, "tls.deny_list");
    }

    /** Credentials without a deny list. */
    public Tls(Path dir, String name) {
      this(dir, name, Optional.empty());
    }
  }

  /**
   * The served model; built with {@link #builder(String)}.
   *
   * @param name the name clients put in GenerateRequest.model
   * @param path a GGUF file or a Hugging Face checkpoint directory; null when not set (an upstream
   *     engine loads none)
   * @param sha256 expected digest of the file (GGUF) or of model.safetensors / the index (HF); empty skips
   * @param version reported in ServedBy.model_version; empty means the sha256 prefix
   * @param device {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}
   * @param defaultMaxTokens max_tokens when the request leaves it unset
   */
  public record Model(String name, Path path, String sha256, String version, String device, int defaultMaxTokens) {
    public static final int DEFAULT_MAX_TOKENS = 256;

    public Model {
      if (name == null || name.isBlank()) {
        throw new ConfigException("model.name", "must not be empty");
      }
      if (sha256 != null && !sha256.isEmpty() && !sha256.matches("[0-9a-fA-F]{64}")) {
        throw new ConfigException("model.sha256", "must be 64 hex digits, got '" + sha256 + "'");
      }
      if (defaultMaxTokens <= 0) {
        throw new ConfigException("model.default_max_tokens", "must be positive, got " + defaultMaxTokens);
      }
      sha256 = sha256 == null ? "" : sha256.toLowerCase(Locale.ROOT);
      version = version == null ? "" : version;
      device = device == null ? "auto" : device;
    }

    /**
     * The model clients call {@code name}: no path, no digest check, version from the digest, device
     * {@code auto}, {@value #DEFAULT_MAX_TOKENS} default max_tokens until set.
     */
    public static Builder builder(String name) {
      return new Builder(name);
    }

    /** Builds a {@link Model}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
      private final String name;
      private Path path;
      private String sha256 = "";
      private String version = "";
      private String device = "auto";
      private int defaultMaxTokens = DEFAULT_MAX_TOKENS;

      private Builder(String name) {
        this.name = name;
      }

      /** A GGUF file or a Hugging Face checkpoint directory. */
      public Builder path(Path file) {
        this.path = file;
        return this;
      }

      /** The expected digest; empty skips the check. */
      public Builder sha256(String digest) {
        this.sha256 = digest;
        return this;
      }

      /** What ServedBy.model_version reports; empty means the digest's prefix. */
      public Builder version(String v) {
        this.version = v;
        return this;
      }

      /** {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}. */
      public Builder device(String d) {
        this.device = d;
        return this;
      }

      /** max_tokens when a request leaves it unset. */
      public Builder defaultMaxTokens(int tokens) {
        this.defaultMaxTokens = tokens;
        return this;
      }

      /** Validates; a bad value fails naming its {@code model.*} key. */
      public Model build() {
        return new Model(name, path, sha256, version, device, defaultMaxTokens);
      }
    }
  }

  /**
   * Scheduler limits; see {@code io.infermesh.core.schedule.SchedulerConfig}. {@code kvBlocks} 0
   * sizes the pool to four full contexts; {@code contextLength} 0 takes the model's; {@code
   * prefixCache} reuses the KV blocks of prompt prefixes already computed. Built with {@link
   * #builder()}, starting from {@link #defaults()}.
   */
  public record Scheduling(int maxQueued, int maxBatchSize, int maxBatchTokens, int prefillChunk, int kvBlocks,
      int kvBlockSize, int contextLength, Duration aging, boolean prefixCache) {
    public Scheduling {
      positive("scheduler.max_queued", maxQueued);
      positive("scheduler.max_batch_size", maxBatchSize);
      positive("scheduler.max_batch_tokens", maxBatchTokens);
      positive("scheduler.prefill_chunk", prefillChunk);
      positive("scheduler.kv_block_size", kvBlockSize);
      if (kvBlocks < 0) {
        throw new ConfigException("scheduler.kv_blocks", "must not be negative, got " + kvBlocks);
      }
      if (contextLength < 0) {
        throw new ConfigException("scheduler.context_length", "must not be negative, got " + contextLength);
      }
      if (aging == null || aging.isNegative() || aging.isZero()) {
        throw new ConfigException("scheduler.aging", "must be a positive duration, got " + aging);
      }
    }

    /** The limits {@code deploy/core.yaml} documents as defaults. */
    public static Scheduling defaults() {
      return builder().build();
    }

    /** Every limit at its default until set. */
    public static Builder builder() {
      return new Builder();
    }

    /** Builds a {@link Scheduling}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
      private int maxQueued = 256;
      private int maxBatchSize = 64;
      private int maxBatchTokens = 512;
      private int prefillChunk = 128;
      private int kvBlocks;
      private int kvBlockSize = 16;
      private int contextLength;
      private Duration aging = Duration.ofSeconds(10);
      private boolean prefixCache = true;

      private Builder() {}

      /** Requests waiting beyond this are refused with RESOURCE_EXHAUSTED. */
      public Builder maxQueued(int n) {
        this.maxQueued = n;
        return this;
      }

      /** Sequences in one engine step (calls in flight, upstream). */
      public Builder maxBatchSize(int n) {
        this.maxBatchSize = n;
        return this;
      }

      /** New tokens in one step. */
      public Builder maxBatchTokens(int n) {
        this.maxBatchTokens = n;
        return this;
      }

      /** Most prompt tokens one sequence computes per step. */
      public Builder prefillChunk(int n) {
        this.prefillChunk = n;
        return this;
      }

      /** Blocks in the KV pool ({@code count}, 0 = four full contexts) of {@code size} positions each. */
      public Builder kvBlocks(int count, int size) {
        this.kvBlocks = count;
        this.kvBlockSize = size;
        return this;
      }

      /** Positions per sequence; 0 = the model's. */
      public Builder contextLength(int positions) {
        this.contextLength = positions;
        return this;
      }

      /** Each period a request waits raises it one class. */
      public Builder aging(Duration period) {
        this.aging = period;
        return this;
      }

      /** Whether KV blocks of prompt prefixes already computed are reused (vLLM's automatic prefix caching). */
      public Builder prefixCache(boolean on) {
        this.prefixCache = on;
        return this;
      }

      /** @throws ConfigException naming the {@code scheduler.*} key that is invalid */
      public Scheduling build() {
        return new Scheduling(maxQueued, maxBatchSize, maxBatchTokens, prefillChunk, kvBlocks, kvBlockSize,
            contextLength, aging, prefixCache);
      }
    }
  }

  /**
   * This node's pipeline stage: {@code index} of {@code count}; {@code next} is the address of
   * stage {@code index + 1} (empty on the last stage).
   */
  public record Stage(int index, int count, String next) {
    public Stage {
      if (count < 1) {
        throw new ConfigException("stage.count", "must be at least 1, got " + count);
      }
      if (index < 0 || index >= count) {
        throw new ConfigException("stage.index", "must be in 0.." + (count - 1) + ", got " + index);
      }
      next = next == null ? "" : next;
      if (index < count - 1 && next.isEmpty()) {
        throw new ConfigException("stage.next", "must name the next stage (host:port) on stage " + index + " of " + count);
      }
    }

    public static Stage single() {
      return new Stage(0, 1, "");
    }

    /** Parses {@code i/n}, e.g. {@code 0/2}. */
    public static Stage parse(String text, String next) {
      String[] parts = text.split("/");
      try {
        return new Stage(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()), next);
      } catch (RuntimeException e) {
        if (e instanceof ConfigException ce) {
          throw ce;
        }
        throw new ConfigException("stage", "must look like i/n (e.g. 0/2), got '" + text + "'");
      }
    }
  }

  /**
   * Builds a {@link CoreConfig}; every part but the node and its credentials has the default
   * {@code deploy/core.yaml} documents. {@link #build()} validates. Not thread-safe.
   */
  public static final class Builder {
    private final Node node;
    private final Tls tls;
    private int grpcPort = DEFAULT_GRPC_PORT;
    private Model model = Model.builder("core").build();
    private Engine engine = Engine.builtin();
    private Scheduling scheduler = Scheduling.defaults();
    private Stage stage = Stage.single();
    private int metricsPort = DEFAULT_METRICS_PORT;
    private ConsulConfig consul = CONSUL_DEFAULT;
    private Listen listen = Listen.DEFAULT;
    private Tenants tenants = Tenants.off();
    private Audit audit = Audit.off();
    private Leases leases = Leases.off();
    private TelemetryConfig telemetry = TELEMETRY_DEFAULT;

    private Builder(Node node, Tls tls) {
      this.node = node;
      this.tls = tls;
    }

    /** The mTLS gRPC port; 0 picks a free one. */
    public Builder grpcPort(int port) {
      this.grpcPort = port;
      return this;
    }

    public Builder model(Model m) {
      this.model = m;
      return this;
    }

    public Builder engine(Engine e) {
      this.engine = e;
      return this;
    }

    public Builder scheduler(Scheduling s) {
      this.scheduler = s;
      return this;
    }

    public Builder stage(Stage s) {
      this.stage = s;
      return this;
    }

    /** The plain-HTTP metrics port; 0 picks a free one, -1 disables it. */
    public Builder metricsPort(int port) {
      this.metricsPort = port;
      return this;
    }

    public Builder consul(ConsulConfig c) {
      this.consul = c;
      return this;
    }

    public Builder listen(Listen l) {
      this.listen = l;
      return this;
    }

    public Builder tenants(Tenants t) {
      this.tenants = t;
      return this;
    }

    public Builder audit(Audit a) {
      this.audit = a;
      return this;
    }

    /** The {@code telemetry:} section ({@link CoreConfig#TELEMETRY_DEFAULT}: off). */
    public Builder telemetry(TelemetryConfig t) {
      this.telemetry = Objects.requireNonNull(t, "telemetry");
      return this;
    }

    /** @throws ConfigException naming the key that is invalid */
    /** The {@code leases:} section ({@link Leases#off()} by default). */
    public Builder leases(Leases l) {
      this.leases = Objects.requireNonNull(l, "leases");
      return this;
    }

    public CoreConfig build() {
      return new CoreConfig(node, grpcPort, tls, model, engine, scheduler, stage, metricsPort, consul, listen, tenants,
          audit, leases, telemetry);
    }
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new ConfigException(key, "must be positive, got " + v);
    }
  }
}
