package io.infermesh.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;

/** {@code core.yaml} text read as {@link CoreConfigLoader} reads a file in {@code /etc/infermesh}. */
final class CoreYaml {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private CoreYaml() {}

  /** The config {@code yaml} describes (empty text: every default). */
  static CoreConfig parse(String yaml) throws Exception {
    JsonNode root = YAML.readTree(yaml);
    return CoreConfigLoader.parse(root == null ? YAML.createObjectNode() : root, Path.of("/etc/infermesh"));
  }
}
