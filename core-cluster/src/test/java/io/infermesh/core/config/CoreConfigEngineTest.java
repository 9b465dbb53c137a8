package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.core.engine.WeightPrecision;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code engine.type} as one record per engine, and the builders' defaults against the loader's. */
class CoreConfigEngineTest {
  private static CoreConfig parse(String yaml) throws Exception {
    return CoreYaml.parse(yaml);
  }

  @Test
  void load_noFile_equalsTheBuildersDefaults() throws Exception {
    CoreConfig loaded = CoreConfigLoader.load(null, Map.of());

    CoreConfig built = CoreConfig.builder(new CoreConfig.Node("core-0", "local"),
        new CoreConfig.Tls(Path.of("").toAbsolutePath().resolve("certs"), "core-0"))
        .audit(Audit.builder().dir(Path.of("").toAbsolutePath().resolve("audit")).build()) // relative to the file
        .build();
    assertThat(loaded).isEqualTo(built);
    assertThat(built.tenants()).isEqualTo(Tenants.off());
    assertThat(built.engine()).isEqualTo(new Engine.BuiltIn(0));
    assertThat(built.scheduler()).isEqualTo(new CoreConfig.Scheduling(256, 64, 512, 128, 0, 16, 0,
        Duration.ofSeconds(10), true));
    assertThat(built.model()).isEqualTo(new CoreConfig.Model("core", null, "", "", "auto", 256));
    assertThat(List.of(built.grpcPort(), built.metricsPort())).containsExactly(9443, 9464);
  }

  @Test
  void parse_builtinType_isTheBuiltInRecordWithItsThreads() throws Exception {
    Engine e = parse("engine: {type: builtin, threads: 2}").engine();

    assertThat(e).isEqualTo(new Engine.BuiltIn(2));
    assertThat(e.type()).isEqualTo("builtin");
  }

  @Test
  void parse_upstreamType_isTheUpstreamRecordWithEveryKey() throws Exception {
    Engine e = parse("""
        engine:
          type: upstream
          upstream: {url: 'http://vllm:8000', model: m, timeout: 30s, health_path: /health, health_interval: 1s,
                     api_key_env: VLLM_API_KEY, context_length: 4096}
        """).engine();

    assertThat(e).isEqualTo(Engine.Upstream.builder("http://vllm:8000").model("m").timeout(Duration.ofSeconds(30))
        .health("/health", Duration.ofSeconds(1)).apiKey("", "VLLM_API_KEY").contextLength(4096).build());
    assertThat(e.type()).isEqualTo("upstream");
  }

  @Test
  void parse_unknownTypeOrUpstreamWithoutUrl_failsNamingTheKey() {
    assertThatThrownBy(() -> parse("engine: {type: vllm}"))
        .isInstanceOf(ConfigException.class).hasMessage("engine.type: must be builtin or upstream, got 'vllm'");
    assertThatThrownBy(() -> parse("engine: {type: upstream, upstream: {url: 'vllm:8000'}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("engine.upstream.url: must be an http(s) URL when engine.type is upstream");
    assertThatThrownBy(() -> parse("engine: {type: upstream, threads: -1, upstream: {url: 'http://v:1'}}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("engine.threads: must be 0");
  }

  @Test
  void parse_builtinTypeWithABadUpstreamValue_stillFailsNamingIt() {
    assertThatThrownBy(() -> parse("engine: {type: builtin, upstream: {timeout: 0s}}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("engine.upstream.timeout: must be a positive");
  }

  @Test
  void builders_badValues_failNamingTheKey() {
    assertThatThrownBy(() -> CoreConfig.Model.builder("m").defaultMaxTokens(0).build())
        .isInstanceOf(ConfigException.class).hasMessage("model.default_max_tokens: must be positive, got 0");
    assertThatThrownBy(() -> CoreConfig.Scheduling.builder().kvBlocks(-1, 16).build())
        .isInstanceOf(ConfigException.class).hasMessage("scheduler.kv_blocks: must not be negative, got -1");
    assertThatThrownBy(() -> Engine.Upstream.builder("http://v:1").health("health", Duration.ofSeconds(1)).build())
        .isInstanceOf(ConfigException.class).hasMessage("engine.upstream.health_path: must start with /, got 'health'");
  }

  @Test
  void parse_engineDtype_float16IsKeptAndBfloat16IsRefusedNamingTheKey() throws Exception {
    assertThat(parse("engine: {type: builtin, dtype: float16}").engine())
        .isEqualTo(new Engine.BuiltIn(0, WeightPrecision.FLOAT16));
    assertThat(parse("engine: {type: builtin}").engine()).isEqualTo(new Engine.BuiltIn(0, WeightPrecision.FLOAT32));
    assertThatThrownBy(() -> parse("engine: {type: builtin, dtype: bfloat16}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("engine.dtype: bfloat16 is not available");
    assertThatThrownBy(() -> parse("engine: {type: builtin, dtype: double}"))
        .isInstanceOf(ConfigException.class).hasMessage("engine.dtype: must be float32, float16 or float16-decode, got 'double'");
  }
}
