package io.infermesh.edge.config;

import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * What answers the edge's local tier ({@code engine.type} in {@code edge.yaml}, spelled as the
 * core's): {@link BuiltIn}, llama.cpp in this process over {@code model.path}, or {@link Upstream},
 * a local OpenAI-compatible server (llama-server, Ollama, vLLM) the edge forwards to while it keeps
 * routing, auth, the cache, escalation, quotas, privacy, audit and metrics. Immutable.
 */
public sealed interface LocalEngine permits LocalEngine.BuiltIn, LocalEngine.Upstream {

  /** The default: llama.cpp in process. */
  LocalEngine BUILTIN = new BuiltIn();

  /** {@code engine.type} as {@code edge.yaml} spells it. */
  String type();

  /**
   * The in-process llama.cpp engine over {@code model.path} ({@code engine.type: builtin}).
   *
   * @param nativeLibrary {@code engine.native_library}: a directory holding a {@code libjllama.so}
   *     built for this machine (e.g. by {@code edge-agent/native/build-binding.sh}) that the binding
   *     loads instead of its bundled AVX2 build; empty for the bundled one
   */
  record BuiltIn(Optional<Path> nativeLibrary) implements LocalEngine {
    public BuiltIn {
      nativeLibrary = nativeLibrary == null ? Optional.empty() : nativeLibrary.map(d -> d.toAbsolutePath().normalize());
      nativeLibrary.ifPresent(BuiltIn::checkNativeLibrary);
    }

    /** The bundled library. */
    public BuiltIn() {
      this(Optional.empty());
    }

    private static void checkNativeLibrary(Path dir) {
      String name = System.mapLibraryName("jllama");
      if (!Files.isDirectory(dir)) {
        throw new ConfigException("engine.native_library", "must be a directory holding " + name + ", got " + dir
            + " (not a directory)");
      }
      if (!Files.isRegularFile(dir.resolve(name)) || !Files.isReadable(dir.resolve(name))) {
        throw new ConfigException("engine.native_library", "must be a directory holding " + name + ", but "
            + dir + " has no readable " + name + " (edge-agent/native/build-binding.sh builds one)");
      }
    }

    @Override
    public String type() {
      return "builtin";
    }
  }

  /**
   * Forwarding the local tier to an OpenAI-compatible server ({@code engine.type: upstream}, keys
   * under {@code engine.upstream}); built with {@link #builder(String)}.
   *
   * @param url the server's base URL, e.g. {@code http://127.0.0.1:8081} (a trailing {@code /v1} is allowed)
   * @param model the model name sent upstream; empty sends {@code model.name}
   * @param timeout longest one forwarded generation may take, and the wait for the server's headers
   * @param apiKeyEnv the environment variable holding the key sent as {@code Authorization: Bearer};
   *     empty sends none (the key itself never sits in the file)
   * @param maxConcurrency generations forwarded at once (the edge's admission slots and the most
   *     connections open to the server); match the server's slots ({@code llama-server -np})
   */
  record Upstream(URI url, String model, Duration timeout, String apiKeyEnv, int maxConcurrency)
      implements LocalEngine {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    public static final int DEFAULT_MAX_CONCURRENCY = 4;
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    public Upstream {
      if (url == null || !("http".equals(url.getScheme()) || "https".equals(url.getScheme())) || url.getHost() == null
          || url.getQuery() != null || url.getFragment() != null) {
        throw new ConfigException("engine.upstream.url",
            "must be an http(s) URL without query, e.g. http://127.0.0.1:8081, when engine.type is upstream, got "
                + url);
      }
      model = model == null ? "" : model.strip();
      if (model.length() > 256 || model.chars().anyMatch(Character::isISOControl)) {
        throw new ConfigException("engine.upstream.model", "must be at most 256 characters without control characters");
      }
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new ConfigException("engine.upstream.timeout", "must be a positive duration, got " + timeout);
      }
      apiKeyEnv = apiKeyEnv == null ? "" : apiKeyEnv.strip();
      if (!apiKeyEnv.isEmpty() && !ENV_NAME.matcher(apiKeyEnv).matches()) {
        throw new ConfigException("engine.upstream.api_key_env",
            "must be an environment variable name, got '" + apiKeyEnv + "'");
      }
      if (maxConcurrency < 1 || maxConcurrency > 256) {
        throw new ConfigException("engine.upstream.max_concurrency", "must be in [1, 256], got " + maxConcurrency);
      }
    }

    /** Forwarding to {@code url}, every other key at its default until set. */
    public static Builder builder(String url) {
      return new Builder(url);
    }

    @Override
    public String type() {
      return "upstream";
    }

    /** The name sent upstream: {@link #model()}, else {@code fallback} ({@code model.name}). */
    public String modelOr(String fallback) {
      return model.isEmpty() ? fallback : model;
    }

    /**
     * The API key: the value of {@code api_key_env} looked up with {@code env} (e.g. {@code
     * System::getenv}); empty when no variable is configured.
     *
     * @throws ConfigException naming {@code engine.upstream.api_key_env} when the variable is unset,
     *     empty or not a valid header value (the message leaves the value out)
     */
    public Optional<String> apiKey(UnaryOperator<String> env) {
      if (apiKeyEnv.isEmpty()) {
        return Optional.empty();
      }
      String value = env.apply(apiKeyEnv);
      value = value == null ? "" : value.strip();
      if (value.isEmpty()) {
        throw new ConfigException("engine.upstream.api_key_env", "environment variable " + apiKeyEnv
            + " is not set or empty");
      }
      if (!value.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
        throw new ConfigException("engine.upstream.api_key_env", "environment variable " + apiKeyEnv
            + " must hold printable ASCII without spaces");
      }
      return Optional.of(value);
    }

    /** Builds an {@link Upstream}; {@link #build()} validates, naming the key. Not thread-safe. */
    public static final class Builder {
      private final String url;
      private String model = "";
      private Duration timeout = DEFAULT_TIMEOUT;
      private String apiKeyEnv = "";
      private int maxConcurrency = DEFAULT_MAX_CONCURRENCY;

      private Builder(String url) {
        this.url = url;
      }

      /** The model name sent upstream; empty sends {@code model.name}. */
      public Builder model(String name) {
        this.model = name;
        return this;
      }

      /** Longest one forwarded generation may take. */
      public Builder timeout(Duration d) {
        this.timeout = d;
        return this;
      }

      /** The environment variable holding the API key; empty for none. */
      public Builder apiKeyEnv(String name) {
        this.apiKeyEnv = name;
        return this;
      }

      /** Generations forwarded at once. */
      public Builder maxConcurrency(int n) {
        this.maxConcurrency = n;
        return this;
      }

      /** @throws ConfigException naming the {@code engine.upstream.*} key that is invalid */
      public Upstream build() {
        URI parsed;
        try {
          parsed = url == null ? null : new URI(url.strip());
        } catch (URISyntaxException e) {
          throw new ConfigException("engine.upstream.url", "not a URL: " + e.getMessage(), e);
        }
        return new Upstream(parsed, model, timeout, apiKeyEnv, maxConcurrency);
      }
    }
  }
}
