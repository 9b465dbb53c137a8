package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code engine.upstream} keys for an API key and the upstream model's context length. */
class CoreConfigUpstreamTest {
  private static Engine parse(String yaml) throws Exception {
    return CoreYaml.parse(yaml).engine();
  }

  private static Engine.Upstream parseUpstream(String yaml) throws Exception {
    return (Engine.Upstream) parse(yaml);
  }

  @Test
  void parse_noKeyNoContext_defaultsToNoneAndUnknown() throws Exception {
    Engine.Upstream e = parseUpstream("engine: {type: upstream, upstream: {url: 'http://vllm:8000'}}");

    assertThat(e.apiKey()).isEmpty();
    assertThat(e.apiKeyEnv()).isEmpty();
    assertThat(e.contextLength()).isZero();
    assertThat(e.resolveApiKey(name -> "never read")).isEmpty();
  }

  @Test
  void parse_apiKeyAndContextLength_areRead_andTheKeyNeverPrinted() throws Exception {
    Engine.Upstream e = parseUpstream("""
        engine:
          type: upstream
          upstream: {url: 'http://vllm:8000', api_key: sk-secret-123, context_length: 8192}
        """);

    assertThat(e.contextLength()).isEqualTo(8192);
    assertThat(e.resolveApiKey(name -> "not this")).isEqualTo("sk-secret-123");
    assertThat(e.toString()).doesNotContain("sk-secret-123").contains("apiKey=<redacted>")
        .contains("contextLength=8192");
    assertThat(CoreConfigLoader.load(null, Map.of("engine.type", "upstream", "engine.upstream.url", "http://v:1",
        "engine.upstream.api_key", "sk-secret-123")).toString()).doesNotContain("sk-secret-123");
  }

  @Test
  void resolveApiKey_fromTheNamedVariable_orANamedError() throws Exception {
    Engine.Upstream e = parseUpstream("engine: {type: upstream, upstream: {url: 'http://v:1', api_key_env: VLLM_API_KEY}}");

    assertThat(e.resolveApiKey(Map.of("VLLM_API_KEY", " sk-from-env\n")::get)).isEqualTo("sk-from-env");
    assertThatThrownBy(() -> e.resolveApiKey(name -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessage("engine.upstream.api_key_env: environment variable VLLM_API_KEY is not set or empty");
    assertThatThrownBy(() -> e.resolveApiKey(name -> "sk with space"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("engine.upstream.api_key_env: environment variable VLLM_API_KEY must hold")
        .hasMessageNotContaining("sk with space");
  }

  @Test
  void parse_badValues_nameTheKey_withoutEchoingAKey() {
    assertThatThrownBy(() -> parse("engine: {upstream: {api_key: a, api_key_env: B}}"))
        .isInstanceOf(ConfigException.class).hasMessage("engine.upstream.api_key: set api_key or api_key_env, not both");
    assertThatThrownBy(() -> parse("engine: {upstream: {api_key: 'sk secret'}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("engine.upstream.api_key: must be printable ASCII without spaces");
    assertThatThrownBy(() -> parse("engine: {upstream: {api_key_env: 'my-key'}}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("engine.upstream.api_key_env: must be an environment");
    assertThatThrownBy(() -> parse("engine: {upstream: {context_length: -1}}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("engine.upstream.context_length: must be 0");
    assertThatThrownBy(() -> parse("engine: {upstream: {apikey: x}}"))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("engine.upstream.apikey: unknown key");
  }
}
