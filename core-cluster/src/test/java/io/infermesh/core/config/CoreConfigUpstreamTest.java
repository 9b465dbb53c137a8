package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code engine.upstream} keys for an API key and the upstream model's context length. */
class CoreConfigUpstreamTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static CoreConfig.Engine parse(String yaml) throws Exception {
    JsonNode root = YAML.readTree(yaml);
    return CoreConfigLoader.parse(root, Path.of("/etc/infermesh")).engine();
  }

  @Test
  void parse_noKeyNoContext_defaultsToNoneAndUnknown() throws Exception {
    CoreConfig.Engine e = parse("engine: {type: upstream, upstream: {url: 'http://vllm:8000'}}");

    assertThat(e.upstreamApiKey()).isEmpty();
    assertThat(e.upstreamApiKeyEnv()).isEmpty();
    assertThat(e.upstreamContextLength()).isZero();
    assertThat(e.resolveUpstreamApiKey(name -> "never read")).isEmpty();
  }

  @Test
  void parse_apiKeyAndContextLength_areRead_andTheKeyNeverPrinted() throws Exception {
    CoreConfig.Engine e = parse("""
        engine:
          type: upstream
          upstream: {url: 'http://vllm:8000', api_key: sk-secret-123, context_length: 8192}
        """);

    assertThat(e.upstreamContextLength()).isEqualTo(8192);
    assertThat(e.resolveUpstreamApiKey(name -> "not this")).isEqualTo("sk-secret-123");
    assertThat(e.toString()).doesNotContain("sk-secret-123").contains("upstreamApiKey=<redacted>")
        .contains("upstreamContextLength=8192");
    assertThat(CoreConfigLoader.load(null, Map.of("engine.type", "upstream", "engine.upstream.url", "http://v:1",
        "engine.upstream.api_key", "sk-secret-123")).toString()).doesNotContain("sk-secret-123");
  }

  @Test
  void resolveUpstreamApiKey_fromTheNamedVariable_orANamedError() throws Exception {
    CoreConfig.Engine e = parse("engine: {type: upstream, upstream: {url: 'http://v:1', api_key_env: VLLM_API_KEY}}");

    assertThat(e.resolveUpstreamApiKey(Map.of("VLLM_API_KEY", " sk-from-env\n")::get)).isEqualTo("sk-from-env");
    assertThatThrownBy(() -> e.resolveUpstreamApiKey(name -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessage("engine.upstream.api_key_env: environment variable VLLM_API_KEY is not set or empty");
    assertThatThrownBy(() -> e.resolveUpstreamApiKey(name -> "sk with space"))
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
