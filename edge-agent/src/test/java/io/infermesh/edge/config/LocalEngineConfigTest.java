package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code engine:} in {@code edge.yaml}: builtin by default, upstream with its keys, every mistake named by key. */
class LocalEngineConfigTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_noEngineSection_isBuiltin() {
    assertThat(EdgeConfigLoader.parse("node: {name: e1}", BASE).engine()).isEqualTo(LocalEngine.BUILTIN);
  }

  @Test
  void parse_upstream_everyKey() {
    LocalEngine engine = EdgeConfigLoader.parse("""
        model: {name: qwen, context_size: 4096}
        engine:
          type: upstream
          upstream: {url: 'http://127.0.0.1:8081/v1', model: qwen2.5-0.5b, timeout: 90s, api_key_env: LLAMA_KEY,
                     max_concurrency: 8}
        """, BASE).engine();

    assertThat(engine).isInstanceOf(LocalEngine.Upstream.class);
    LocalEngine.Upstream u = (LocalEngine.Upstream) engine;
    assertThat(u.url()).isEqualTo(URI.create("http://127.0.0.1:8081/v1"));
    assertThat(u.model()).isEqualTo("qwen2.5-0.5b");
    assertThat(u.timeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(u.apiKeyEnv()).isEqualTo("LLAMA_KEY");
    assertThat(u.maxConcurrency()).isEqualTo(8);
    assertThat(u.type()).isEqualTo("upstream");
  }

  @Test
  void parse_upstreamDefaults_modelNameFromModelSection() {
    LocalEngine.Upstream u = (LocalEngine.Upstream) EdgeConfigLoader.parse(
        "engine: {type: upstream, upstream: {url: 'http://localhost:11434'}}", BASE).engine();

    assertThat(u.modelOr("edge-model")).isEqualTo("edge-model");
    assertThat(u.timeout()).isEqualTo(LocalEngine.Upstream.DEFAULT_TIMEOUT);
    assertThat(u.maxConcurrency()).isEqualTo(LocalEngine.Upstream.DEFAULT_MAX_CONCURRENCY);
    assertThat(u.apiKey(name -> "unused")).isEmpty();
  }

  @Test
  void apiKey_fromTheNamedVariable_andItsMistakesNameTheKey() {
    LocalEngine.Upstream u = LocalEngine.Upstream.builder("http://127.0.0.1:8081").apiKeyEnv("LLAMA_KEY").build();

    assertThat(u.apiKey(Map.of("LLAMA_KEY", " sk-local ")::get)).contains("sk-local");
    assertThatThrownBy(() -> u.apiKey(name -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("engine.upstream.api_key_env: environment variable LLAMA_KEY is not set");
    assertThatThrownBy(() -> u.apiKey(name -> "two words"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("engine.upstream.api_key_env: environment variable LLAMA_KEY must hold printable")
        .hasMessageNotContaining("two words");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', textBlock = """
      engine: {type: vllm}                                                  | engine.type: must be builtin or upstream, got 'vllm'
      engine: {type: upstream}                                              | engine.upstream.url: must be an http(s) URL
      engine: {type: upstream, upstream: {url: 'ftp://x'}}                  | engine.upstream.url: must be an http(s) URL
      engine: {type: upstream, upstream: {url: 'http://x/?a=b'}}            | engine.upstream.url: must be an http(s) URL
      engine: {type: upstream, upstream: {url: 'http://x', timeout: 0s}}    | engine.upstream.timeout: must be a positive duration
      engine: {type: upstream, upstream: {url: 'http://x', max_concurrency: 0}} | engine.upstream.max_concurrency: must be in [1, 256]
      engine: {type: upstream, upstream: {url: 'http://x', api_key_env: 'a-b'}} | engine.upstream.api_key_env: must be an environment variable name
      engine: {type: upstream, upstream: {url: 'http://x', api_key: sk-1}}  | engine.upstream.api_key: unknown key
      engine: {type: upstream, upstream: {url: 'http://x', parallel: 2}}   | engine.upstream.parallel: unknown key
      engine: {type: upstream, url: 'http://x'}                             | engine.url: unknown key
      engine: {upstream: {url: 'http://x'}}                                 | engine.upstream: is only read with engine.type: upstream
      engine: {type: upstream, upstream: {url: 'http://x'}}, model: {path: m.gguf} | model.path: must not be set
      engine: {type: upstream, upstream: {url: 'http://x'}}, model: {parallel: 4} | model.parallel: must not be set: use engine.upstream.max_concurrency
      engine: {type: upstream, upstream: {url: 'http://x'}}, model: {threads: 2} | model.threads: must not be set
      engine: {type: upstream, upstream: {url: 'http://x'}}, model: {chat_template: llama3} | model.chat_template: must not be set
      engine: {type: upstream, upstream: {url: 'http://x'}}, routing: {scorer: learned, training_file: t.jsonl} | routing.scorer: learned needs embeddings
      """)
  void parse_badEngine_namesTheKey(String yaml, String expected) {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("{" + yaml + "}", BASE))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(expected);
  }

  @Test
  void parse_nativeLibrary_aDirectoryWithTheLibrary_resolvedAgainstTheConfigFile(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("jllama"));
    Files.writeString(dir.resolve("jllama").resolve(System.mapLibraryName("jllama")), "built here");

    LocalEngine engine = EdgeConfigLoader.parse("engine: {native_library: jllama}", dir).engine();

    assertThat(engine).isEqualTo(new LocalEngine.BuiltIn(Optional.of(dir.resolve("jllama"))));
  }

  @Test
  void parse_nativeLibrary_mistakesNameTheKey(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("empty"));
    Files.writeString(dir.resolve("file"), "x");

    assertThatThrownBy(() -> EdgeConfigLoader.parse("engine: {native_library: missing}", dir))
        .hasMessageStartingWith("engine.native_library: must be a directory holding libjllama.so, got "
            + dir.resolve("missing") + " (not a directory)");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("engine: {native_library: file}", dir))
        .hasMessageStartingWith("engine.native_library: must be a directory");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("engine: {native_library: empty}", dir))
        .hasMessageStartingWith("engine.native_library: must be a directory holding libjllama.so, but "
            + dir.resolve("empty") + " has no readable libjllama.so");
    assertThatThrownBy(() -> EdgeConfigLoader.parse(
        "engine: {type: upstream, native_library: empty, upstream: {url: 'http://x'}}", dir))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("engine.native_library: is only read with engine.type: builtin");
  }
}
