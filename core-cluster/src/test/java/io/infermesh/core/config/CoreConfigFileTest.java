package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.node.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** core.yaml's errors read as edge.yaml's and mesh.yaml's: the file, the full key, the reason. */
class CoreConfigFileTest {

  @Test
  void load_badValue_prefixesThePathAsGiven(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("core.yaml"), "consul: {tier: burst}\n");

    assertThatThrownBy(() -> CoreConfigLoader.load(file)).isInstanceOf(ConfigException.class)
        .hasMessage(file + ": consul.tier: must be private or public, got 'burst'")
        .extracting(e -> ((ConfigException) e).key()).isEqualTo("consul.tier");
  }

  @Test
  void load_missingFile_saysSoAsForEveryConfigFile(@TempDir Path dir) {
    assertThatThrownBy(() -> CoreConfigLoader.load(dir.resolve("nope.yaml"))).isInstanceOf(NoSuchFileException.class)
        .hasMessage(dir.resolve("nope.yaml") + ": config file not found");
  }

  @Test
  void load_unknownKey_prefixesThePathAsGiven(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("core.yaml"), "consul: {service-name: core}\n");

    assertThatThrownBy(() -> CoreConfigLoader.load(file, Map.of()))
        .hasMessageStartingWith(file + ": consul.service-name: unknown key");
  }
}
