package io.infermesh.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face checkpoint directory: {@code config.json} (as written by transformers 4.x —
 * {@code rope_theta}, {@code rope_scaling} — or 5.x — {@code rope_parameters}), and either
 * {@code model.safetensors} or sharded {@code model-*.safetensors} with
 * {@code model.safetensors.index.json}. Weights are read lazily, one tensor at a time.
 * Not thread-safe.
 */
public final class HfCheckpoint implements TensorSource {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> LLAMA_TYPES = Set.of("llama", "mistral");

  private final Path dir;
  private final LlamaConfig config;
  private final Map<String, Safetensors> files = new LinkedHashMap<>();
  private final Map<String, Safetensors> byTensor = new LinkedHashMap<>();

  private HfCheckpoint(Path dir, LlamaConfig config) {
    this.dir = dir;
    this.config = config;
  }

  /** Opens {@code dir}; fails with an {@link IOException} naming the file and the reason. */
  public static HfCheckpoint open(Path dir) throws IOException {
    Path configFile = dir.resolve("config.json");
    if (!Files.isRegularFile(configFile)) {
      throw new IOException(dir + ": no config.json (is this a Hugging Face checkpoint directory?)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(configFile.toFile());
    } catch (IOException e) {
      throw new IOException(configFile + ": not valid JSON: " + e.getMessage(), e);
    }
    HfCheckpoint cp = new HfCheckpoint(dir, parseConfig(root, configFile));
    try {
      Path index = dir.resolve("model.safetensors.index.json");
      Path single = dir.resolve("model.safetensors");
      if (Files.isRegularFile(index)) {
        JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          String file = e.getValue().asText();
          if (file.contains("/") || file.contains("\\")) {
            throw new IOException(index + ": weight_map points outside the directory: " + file);
          }
          Safetensors st = cp.files.get(file);
          if (st == null) {
            st = Safetensors.open(dir.resolve(file));
            cp.files.put(file, st);
          }
          cp.byTensor.put(e.getKey(), st);
        }
      } else if (Files.isRegularFile(single)) {
        Safetensors st = Safetensors.open(single);
        cp.files.put(single.getFileName().toString(), st);
        for (String name : st.entries().keySet()) {
          cp.byTensor.put(name, st);
        }
      } else {
        throw new IOException(dir + ": neither model.safetensors nor model.safetensors.index.json");
      }
    } catch (IOException | RuntimeException e) {
      cp.close();
      throw e;
    }
    return cp;
  }

  /** Parses a transformers {@code config.json} into a {@link LlamaConfig}. */
  static LlamaConfig parseConfig(JsonNode c, Path where) throws IOException {
    String type = c.path("model_type").asText("llama");
    if (!LLAMA_TYPES.contains(type)) {
      throw new IOException(where + ": model_type '" + type + "' is not supported (supported: " + LLAMA_TYPES + ")");
    }
    if (c.path("attention_bias").asBoolean(false) || c.path("mlp_bias").asBoolean(false)) {
      throw new IOException(where + ": attention_bias / mlp_bias are not supported");
    }
    int hidden = required(c, "hidden_size", where);
    int heads = required(c, "num_attention_heads", where);
    int kvHeads = c.path("num_key_value_heads").asInt(heads);
    int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
    // transformers 5.x nests RoPE settings in rope_parameters; 4.x has rope_theta + rope_scaling.
    JsonNode rope = c.path("rope_parameters");
    double theta = rope.path("rope_theta").asDouble(c.path("rope_theta").asDouble(10000.0));
    JsonNode scaling = rope.isObject() ? rope : c.path("rope_scaling");
    double[] inv = LlamaConfig.ropeFrequencies(theta, headDim);
    if (scaling.isObject()) {
      String kind = scaling.path("rope_type").asText(scaling.path("type").asText("default"));
      switch (kind) {
        case "default" -> {}
        case "linear" -> inv = RopeScaling.linear(inv, scaling.path("factor").asDouble(1));
        case "llama3" -> inv = RopeScaling.llama3(inv,
            scaling.path("factor").asDouble(8),
            scaling.path("low_freq_factor").asDouble(1),
            scaling.path("high_freq_factor").asDouble(4),
            scaling.path("original_max_position_embeddings").asInt(8192));
        default -> throw new IOException(where + ": rope scaling type '" + kind + "' is not supported"
            + " (supported: default, linear, llama3)");
      }
    }
    Set<Integer> eos = new HashSet<>();
    JsonNode eosNode = c.path("eos_token_id");
    if (eosNode.isArray()) {
      eosNode.forEach(n -> eos.add(n.asInt()));
    } else if (eosNode.isNumber()) {
      eos.add(eosNode.asInt());
    }
    try {
      return new LlamaConfig(
          required(c, "vocab_size", where),
          hidden,
          required(c, "intermediate_size", where),
          required(c, "num_hidden_layers", where),
          heads,
          kvHeads,
          headDim,
          c.path("max_position_embeddings").asInt(2048),
          (float) c.path("rms_norm_eps").asDouble(1e-6),
          inv,
          c.path("tie_word_embeddings").asBoolean(false),
          c.path("bos_token_id").isNumber() ? c.get("bos_token_id").asInt() : -1,
          eos);
    } catch (IllegalArgumentException e) {
      throw new IOException(where + ": " + e.getMessage(), e);
    }
  }

  private static int required(JsonNode c, String key, Path where) throws IOException {
    if (!c.path(key).isNumber()) {
      throw new IOException(where + ": missing or non-numeric '" + key + "'");
    }
    return c.get(key).asInt();
  }

  public LlamaConfig config() {
    return config;
  }

  public Path directory() {
    return dir;
  }

  @Override
  public boolean contains(String name) {
    return byTensor.containsKey(name);
  }

  @Override
  public float[] read(String name, long... shape) throws IOException {
    Safetensors st = byTensor.get(name);
    if (st == null) {
      throw new IOException(dir + ": checkpoint has no tensor " + name);
    }
    return st.read(name, shape);
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (Safetensors st : files.values()) {
      try {
        st.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    files.clear();
    if (first != null) {
      throw first;
    }
  }
}
