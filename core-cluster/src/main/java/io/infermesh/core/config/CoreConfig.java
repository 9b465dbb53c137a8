package io.infermesh.core.config;

import io.infermesh.node.config.ConfigException;
import io.infermesh.node.registration.ConsulConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Everything a core node is configured with ({@code core.yaml}), immutable and validated: every
 * key has a default, and a bad value fails naming the key and the reason.
 *
 * @param node who this node is (name and region; its SPIFFE ID comes from its certificate)
 * @param grpcPort port of the mTLS gRPC server (0 picks a free one)
 * @param tls where the node's certificate, key and trust bundle live
 * @param model the model to serve
 * @param engine {@code builtin} (the DJL engine) or {@code upstream} (forward to an OpenAI-compatible server)
 * @param scheduler batching and queueing limits
 * @param stage this node's place in a pipeline ({@code 0/1} when not sharded)
 * @param metricsPort port of the Prometheus {@code /metrics} endpoint (0 picks one, -1 disables)
 * @param consul registration with the local Consul agent ({@link #CONSUL_DEFAULT}: none)
 * @param listen the addresses the gRPC server and the plain-HTTP metrics port bind
 */
public record CoreConfig(
    Node node, int grpcPort, Tls tls, Model model, Engine engine, Scheduling scheduler, Stage stage, int metricsPort,
    ConsulConfig consul, Listen listen) {

  public static final int DEFAULT_GRPC_PORT = 9443;
  /**
   * A core's {@code consul:} defaults: no registration until {@code consul.address} is set,
   * service {@code core-inference} (the one xds-control watches), its load smoothed over 10s.
   */
  public static final ConsulConfig CONSUL_DEFAULT = ConsulConfig.node("core-inference")
      .utilizationWindow(Duration.ofSeconds(10)).build();

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
    port("grpc.port", grpcPort, false);
    port("metrics.port", metricsPort, true);
  }

  /** A node that does not register in Consul. */
  public CoreConfig(
      Node node, int grpcPort, Tls tls, Model model, Engine engine, Scheduling scheduler, Stage stage, int metricsPort) {
    this(node, grpcPort, tls, model, engine, scheduler, stage, metricsPort, CONSUL_DEFAULT, Listen.DEFAULT);
  }

  /** This config with {@code consul} instead. */
  public CoreConfig withConsul(ConsulConfig newConsul) {
    return new CoreConfig(node, grpcPort, tls, model, engine, scheduler, stage, metricsPort, newConsul, listen);
  }

  /** This config with the servers bound to {@code newListen} instead. */
  public CoreConfig withListen(Listen newListen) {
    return new CoreConfig(node, grpcPort, tls, model, engine, scheduler, stage, metricsPort, consul, newListen);
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
   * The node's credentials: {@code <dir>/<name>.crt}, {@code .key} and the trust bundle {@code ca.crt}.
   */
  public record Tls(Path dir, String name) {
    public Tls {
      Objects.requireNonNull(dir, "tls.dir");
      if (name == null || name.isBlank()) {
        throw new ConfigException("tls.name", "must not be empty");
      }
    }
  }

  /**
   * The served model.
   *
   * @param name the name clients put in GenerateRequest.model
   * @param path a GGUF file or a Hugging Face checkpoint directory
   * @param sha256 expected digest of the file (GGUF) or of model.safetensors / the index (HF); empty skips
   * @param version reported in ServedBy.model_version; empty means the sha256 prefix
   * @param device {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}
   * @param defaultMaxTokens max_tokens when the request leaves it unset
   */
  public record Model(String name, Path path, String sha256, String version, String device, int defaultMaxTokens) {
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
      sha256 = sha256 == null ? "" : sha256.toLowerCase(java.util.Locale.ROOT);
      version = version == null ? "" : version;
      device = device == null ? "auto" : device;
    }
  }

  /**
   * Which engine answers.
   *
   * @param type {@code builtin} or {@code upstream}
   * @param upstreamUrl base URL of the OpenAI-compatible server, e.g. {@code http://127.0.0.1:8000}
   * @param upstreamModel the model name to send upstream (empty: model.name)
   * @param upstreamTimeout longest one forwarded call may take
   * @param healthPath what is polled on the upstream for health ({@code /v1/models}, {@code /health})
   * @param healthInterval how often it is polled
   * @param threads PyTorch intra-op threads for the built-in engine on CPU (process-wide); 0 keeps
   *     PyTorch's default (one per core)
   * @param upstreamApiKey sent upstream as {@code Authorization: Bearer <key>}; empty sends none.
   *     Never logged: {@link #toString()} redacts it
   * @param upstreamApiKeyEnv name of an environment variable holding the key instead (keeps it out of
   *     the file); empty when unused. At most one of the two is set
   * @param upstreamContextLength the upstream model's context window in tokens (prompt +
   *     completion), reported in ListModels and checked against max_tokens; 0 = unknown (not checked)
   */
  public record Engine(String type, String upstreamUrl, String upstreamModel, Duration upstreamTimeout,
      String healthPath, Duration healthInterval, int threads, String upstreamApiKey, String upstreamApiKeyEnv,
      int upstreamContextLength) {
    public Engine {
      if (!"builtin".equals(type) && !"upstream".equals(type)) {
        throw new ConfigException("engine.type", "must be builtin or upstream, got '" + type + "'");
      }
      if ("upstream".equals(type) && (upstreamUrl == null || !upstreamUrl.matches("https?://[^\\s]+"))) {
        throw new ConfigException("engine.upstream.url", "must be an http(s) URL when engine.type is upstream");
      }
      upstreamModel = upstreamModel == null ? "" : upstreamModel;
      if (upstreamTimeout == null || upstreamTimeout.isNegative() || upstreamTimeout.isZero()) {
        throw new ConfigException("engine.upstream.timeout", "must be a positive duration, got " + upstreamTimeout);
      }
      if (healthPath == null || !healthPath.startsWith("/")) {
        throw new ConfigException("engine.upstream.health_path", "must start with /, got '" + healthPath + "'");
      }
      if (healthInterval == null || healthInterval.isNegative() || healthInterval.isZero()) {
        throw new ConfigException("engine.upstream.health_interval", "must be a positive duration, got "
            + healthInterval);
      }
      if (threads < 0 || threads > 1024) {
        throw new ConfigException("engine.threads", "must be 0 (PyTorch's default) or a thread count, got " + threads);
      }
      upstreamApiKey = upstreamApiKey == null ? "" : upstreamApiKey.strip();
      upstreamApiKeyEnv = upstreamApiKeyEnv == null ? "" : upstreamApiKeyEnv.strip();
      if (!upstreamApiKey.isEmpty() && !upstreamApiKeyEnv.isEmpty()) {
        throw new ConfigException("engine.upstream.api_key", "set api_key or api_key_env, not both");
      }
      if (!validApiKey(upstreamApiKey)) {
        // the key itself stays out of the message: it may be a real one with a stray character
        throw new ConfigException("engine.upstream.api_key", "must be printable ASCII without spaces");
      }
      if (!upstreamApiKeyEnv.isEmpty() && !upstreamApiKeyEnv.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new ConfigException("engine.upstream.api_key_env",
            "must be an environment variable name, got '" + upstreamApiKeyEnv + "'");
      }
      if (upstreamContextLength < 0) {
        throw new ConfigException("engine.upstream.context_length",
            "must be 0 (unknown) or the upstream model's context in tokens, got " + upstreamContextLength);
      }
    }

    /** Without an upstream API key or context length. */
    public Engine(String type, String upstreamUrl, String upstreamModel, Duration upstreamTimeout, String healthPath,
        Duration healthInterval, int threads) {
      this(type, upstreamUrl, upstreamModel, upstreamTimeout, healthPath, healthInterval, threads, "", "", 0);
    }

    /** This engine with {@code key} as the upstream API key (or {@code env}, the variable holding it). */
    public Engine withUpstreamApiKey(String key, String env) {
      return new Engine(type, upstreamUrl, upstreamModel, upstreamTimeout, healthPath, healthInterval, threads, key, env,
          upstreamContextLength);
    }

    /** This engine with the upstream model's context length. */
    public Engine withUpstreamContextLength(int tokens) {
      return new Engine(type, upstreamUrl, upstreamModel, upstreamTimeout, healthPath, healthInterval, threads,
          upstreamApiKey, upstreamApiKeyEnv, tokens);
    }

    /**
     * The upstream API key: {@code api_key}, else the value of the variable {@code api_key_env}
     * names (looked up with {@code env}, e.g. {@code System::getenv}); empty when neither is set.
     *
     * @throws ConfigException naming {@code engine.upstream.api_key_env} when that variable is unset,
     *     empty or not a valid header value
     */
    public String resolveUpstreamApiKey(UnaryOperator<String> env) {
      if (upstreamApiKeyEnv.isEmpty()) {
        return upstreamApiKey;
      }
      String value = env.apply(upstreamApiKeyEnv);
      value = value == null ? "" : value.strip();
      if (value.isEmpty()) {
        throw new ConfigException("engine.upstream.api_key_env",
            "environment variable " + upstreamApiKeyEnv + " is not set or empty");
      }
      if (!validApiKey(value)) {
        throw new ConfigException("engine.upstream.api_key_env",
            "environment variable " + upstreamApiKeyEnv + " must hold printable ASCII without spaces");
      }
      return value;
    }

    private static boolean validApiKey(String key) {
      return key.chars().allMatch(c -> c >= 0x21 && c <= 0x7e);
    }

    /** Like the record's, with the API key redacted: configs get logged, keys must not. */
    @Override
    public String toString() {
      return "Engine[type=" + type + ", upstreamUrl=" + upstreamUrl + ", upstreamModel=" + upstreamModel
          + ", upstreamTimeout=" + upstreamTimeout + ", healthPath=" + healthPath + ", healthInterval=" + healthInterval
          + ", threads=" + threads + ", upstreamApiKey=" + (upstreamApiKey.isEmpty() ? "" : "<redacted>")
          + ", upstreamApiKeyEnv=" + upstreamApiKeyEnv + ", upstreamContextLength=" + upstreamContextLength + "]";
    }

    /** The built-in engine. */
    public static Engine builtin() {
      return new Engine("builtin", "", "", Duration.ofMinutes(5), "/v1/models", Duration.ofSeconds(5), 0);
    }

    /** Forwarding to the OpenAI-compatible server at {@code url}. */
    public static Engine upstream(String url, String model) {
      return new Engine("upstream", url, model, Duration.ofMinutes(5), "/v1/models", Duration.ofSeconds(5), 0);
    }

    public boolean upstream() {
      return "upstream".equals(type);
    }
  }

  /**
   * Scheduler limits; see {@code io.infermesh.core.schedule.SchedulerConfig}. {@code kvBlocks} 0
   * sizes the pool to four full contexts; {@code contextLength} 0 takes the model's.
   */
  public record Scheduling(int maxQueued, int maxBatchSize, int maxBatchTokens, int prefillChunk, int kvBlocks,
      int kvBlockSize, int contextLength, Duration aging) {
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

    public static Scheduling defaults() {
      return new Scheduling(256, 64, 512, 128, 0, 16, 0, Duration.ofSeconds(10));
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

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new ConfigException(key, "must be positive, got " + v);
    }
  }
}
