package io.infermesh.core.config;

import io.infermesh.core.engine.WeightPrecision;
import io.infermesh.node.config.ConfigException;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * Which engine a core node answers with ({@code engine.type} in {@code core.yaml}): {@link BuiltIn}
 * or {@link Upstream}, each with only the keys that mean something for it. Immutable.
 */
public sealed interface Engine permits Engine.BuiltIn, Engine.Upstream {

  /** {@code engine.type} as {@code core.yaml} spells it. */
  String type();

  /** The built-in engine with PyTorch's own thread count and float32 weights. */
  static BuiltIn builtin() {
    return new BuiltIn(0);
  }

  /**
   * The built-in engine ({@code engine.type: builtin}): DJL/PyTorch on {@code model.path}.
   *
   * @param threads CPU threads each weight product is split across (process-wide; PyTorch's own intra-op pool is
   *     kept at one thread); 0: one per core
   * @param dtype the number format of the linear weights ({@code engine.dtype}); see the
   *     core-cluster README for when float16 pays
   */
  record BuiltIn(int threads, WeightPrecision dtype) implements Engine {
    public BuiltIn {
      if (threads < 0 || threads > 1024) {
        throw new ConfigException("engine.threads", "must be 0 (PyTorch's default) or a thread count, got " + threads);
      }
      if (dtype == null) {
        throw new ConfigException("engine.dtype", "must be set");
      }
    }

    /** {@code threads} with float32 weights. */
    public BuiltIn(int threads) {
      this(threads, WeightPrecision.FLOAT32);
    }

    @Override
    public String type() {
      return "builtin";
    }
  }

  /**
   * Forwarding to an OpenAI-compatible server ({@code engine.type: upstream}, the keys under
   * {@code engine.upstream}); built with {@link #builder(String)}.
   *
   * @param url base URL of the server, e.g. {@code http://127.0.0.1:8000}
   * @param model the model name to send upstream (empty: model.name)
   * @param timeout longest one forwarded call may take
   * @param healthPath what is polled on the upstream for health ({@code /v1/models}, {@code /health})
   * @param healthInterval how often it is polled
   * @param apiKey sent upstream as {@code Authorization: Bearer <key>}; empty sends none. Never
   *     logged: {@link #toString()} redacts it
   * @param apiKeyEnv name of an environment variable holding the key instead (keeps it out of the
   *     file); empty when unused. At most one of the two is set
   * @param contextLength the upstream model's context window in tokens (prompt + completion),
   *     reported in ListModels and checked against max_tokens; 0 = unknown (not checked)
   */
  record Upstream(String url, String model, Duration timeout, String healthPath, Duration healthInterval,
      String apiKey, String apiKeyEnv, int contextLength) implements Engine {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    public static final String DEFAULT_HEALTH_PATH = "/v1/models";
    public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(5);

    public Upstream {
      if (url == null || !url.matches("https?://[^\\s]+")) {
        throw new ConfigException("engine.upstream.url", "must be an http(s) URL when engine.type is upstream");
      }
      model = model == null ? "" : model;
      apiKey = apiKey == null ? "" : apiKey.strip();
      apiKeyEnv = apiKeyEnv == null ? "" : apiKeyEnv.strip();
      checkSettings(timeout, healthPath, healthInterval, new Key(apiKey, apiKeyEnv), contextLength);
    }

    /** Forwarding to {@code url}, every other key at its default (no key, context unknown) until set. */
    public static Builder builder(String url) {
      return new Builder(url);
    }

    @Override
    public String type() {
      return "upstream";
    }

    /**
     * The API key: {@code api_key}, else the value of the variable {@code api_key_env} names
     * (looked up with {@code env}, e.g. {@code System::getenv}); empty when neither is set.
     *
     * @throws ConfigException naming {@code engine.upstream.api_key_env} when that variable is
     *     unset, empty or not a valid header value
     */
    public String resolveApiKey(UnaryOperator<String> env) {
      if (apiKeyEnv.isEmpty()) {
        return apiKey;
      }
      String value = env.apply(apiKeyEnv);
      value = value == null ? "" : value.strip();
      if (value.isEmpty()) {
        throw new ConfigException("engine.upstream.api_key_env",
            "environment variable " + apiKeyEnv + " is not set or empty");
      }
      if (!validApiKey(value)) {
        throw new ConfigException("engine.upstream.api_key_env",
            "environment variable " + apiKeyEnv + " must hold printable ASCII without spaces");
      }
      return value;
    }

    /** Like the record's, with the API key redacted: configs get logged, keys must not. */
    @Override
    public String toString() {
      return "Upstream[url=" + url + ", model=" + model + ", timeout=" + timeout + ", healthPath=" + healthPath
          + ", healthInterval=" + healthInterval + ", apiKey=" + (apiKey.isEmpty() ? "" : "<redacted>")
          + ", apiKeyEnv=" + apiKeyEnv + ", contextLength=" + contextLength + "]";
    }

    /** The key or the variable holding it, stripped. */
    private record Key(String value, String env) {}

    /** Every check but the URL's, which only {@code engine.type: upstream} needs. */
    private static void checkSettings(Duration timeout, String healthPath, Duration healthInterval, Key key,
        int contextLength) {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new ConfigException("engine.upstream.timeout", "must be a positive duration, got " + timeout);
      }
      if (healthPath == null || !healthPath.startsWith("/")) {
        throw new ConfigException("engine.upstream.health_path", "must start with /, got '" + healthPath + "'");
      }
      if (healthInterval == null || healthInterval.isNegative() || healthInterval.isZero()) {
        throw new ConfigException("engine.upstream.health_interval", "must be a positive duration, got "
            + healthInterval);
      }
      if (!key.value().isEmpty() && !key.env().isEmpty()) {
        throw new ConfigException("engine.upstream.api_key", "set api_key or api_key_env, not both");
      }
      if (!validApiKey(key.value())) {
        // the key itself stays out of the message: it may be a real one with a stray character
        throw new ConfigException("engine.upstream.api_key", "must be printable ASCII without spaces");
      }
      if (!key.env().isEmpty() && !key.env().matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new ConfigException("engine.upstream.api_key_env",
            "must be an environment variable name, got '" + key.env() + "'");
      }
      if (contextLength < 0) {
        throw new ConfigException("engine.upstream.context_length",
            "must be 0 (unknown) or the upstream model's context in tokens, got " + contextLength);
      }
    }

    private static boolean validApiKey(String key) {
      return key.chars().allMatch(c -> c >= 0x21 && c <= 0x7e);
    }

    /** Builds an {@link Upstream}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
      private final String url;
      private String model = "";
      private Duration timeout = DEFAULT_TIMEOUT;
      private String healthPath = DEFAULT_HEALTH_PATH;
      private Duration healthInterval = DEFAULT_HEALTH_INTERVAL;
      private String apiKey = "";
      private String apiKeyEnv = "";
      private int contextLength;

      private Builder(String url) {
        this.url = url;
      }

      /** The model name sent upstream; empty means model.name. */
      public Builder model(String name) {
        this.model = name;
        return this;
      }

      /** Longest one forwarded call may take. */
      public Builder timeout(Duration d) {
        this.timeout = d;
        return this;
      }

      /** What is polled for health, and how often. */
      public Builder health(String path, Duration interval) {
        this.healthPath = path;
        this.healthInterval = interval;
        return this;
      }

      /** The API key ({@code key}) or the environment variable holding it ({@code env}); set one. */
      public Builder apiKey(String key, String env) {
        this.apiKey = key;
        this.apiKeyEnv = env;
        return this;
      }

      /** The upstream model's context in tokens; 0 = unknown. */
      public Builder contextLength(int tokens) {
        this.contextLength = tokens;
        return this;
      }

      /**
       * Checks every key but the URL: what {@code core.yaml} holds under {@code engine.upstream} is
       * validated even while {@code engine.type} is builtin, so a bad value never waits for the switch.
       *
       * @throws ConfigException naming the {@code engine.upstream.*} key that is invalid
       */
      public void checkSettings() {
        Upstream.checkSettings(timeout, healthPath, healthInterval,
            new Key(apiKey == null ? "" : apiKey.strip(), apiKeyEnv == null ? "" : apiKeyEnv.strip()), contextLength);
      }

      /** @throws ConfigException naming the {@code engine.upstream.*} key that is invalid */
      public Upstream build() {
        return new Upstream(url, model, timeout, healthPath, healthInterval, apiKey, apiKeyEnv, contextLength);
      }
    }
  }
}
