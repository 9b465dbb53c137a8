package io.infermesh.core.lifecycle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Builds the mesh tokenizer from a Hugging Face {@code tokenizer.json} by describing it the way
 * llama.cpp's converter would in GGUF metadata. Supports byte-level BPE vocabularies (GPT-2,
 * Llama 3, Qwen 2 pre-tokenizers); anything else fails naming what it found.
 */
final class HfTokenizer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int NORMAL = 1;
  private static final int CONTROL = 3;
  private static final int USER_DEFINED = 4;

  private HfTokenizer() {}

  static Tokenizer load(Path dir, LlamaConfig config) throws IOException {
    Path file = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(file)) {
      throw new IOException(dir + ": no tokenizer.json");
    }
    JsonNode root = JSON.readTree(file.toFile());
    JsonNode model = root.path("model");
    if (!"BPE".equals(model.path("type").asText()) || !isByteLevel(root)) {
      throw new IOException(file + ": only byte-level BPE tokenizers are supported (model.type "
          + model.path("type").asText("?") + ")");
    }
    int size = config.vocabSize();
    String[] tokens = new String[size];
    int[] types = new int[size];
    Arrays.fill(types, NORMAL);
    for (Iterator<Map.Entry<String, JsonNode>> it = model.path("vocab").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      put(tokens, e.getValue().asInt(), e.getKey(), file);
    }
    for (JsonNode added : root.path("added_tokens")) {
      int id = added.path("id").asInt();
      put(tokens, id, added.path("content").asText(), file);
      types[id] = added.path("special").asBoolean() ? CONTROL : USER_DEFINED;
    }
    for (int i = 0; i < size; i++) {
      if (tokens[i] == null) {
        tokens[i] = "[PAD" + i + "]";
        types[i] = USER_DEFINED;
      }
    }
    List<String> merges = new ArrayList<>();
    for (JsonNode m : model.path("merges")) {
      merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
    }
    String pretokenizer = root.path("pre_tokenizer").toString();
    String pre = pretokenizer.contains("\\\\p{N}{1,3}") ? "llama-bpe"
        : pretokenizer.contains("\\\\p{N}") && pretokenizer.contains("(?i:'s|'t|'re|'ve|'m|'ll|'d)") ? "qwen2"
        : "gpt-2";
    GgufMetadata.Builder b = GgufMetadata.builder()
        .putString("tokenizer.ggml.model", "gpt2")
        .putString("tokenizer.ggml.pre", pre)
        .put("tokenizer.ggml.tokens", GgufValue.stringArray(Arrays.asList(tokens)))
        .put("tokenizer.ggml.token_type", GgufValue.int32Array(types))
        .put("tokenizer.ggml.merges", GgufValue.stringArray(merges));
    if (config.bosToken() >= 0) {
      b.putUInt32("tokenizer.ggml.bos_token_id", config.bosToken());
      boolean addBos = root.path("post_processor").toString().contains(tokens[config.bosToken()]);
      b.putBool("tokenizer.ggml.add_bos_token", addBos);
    }
    if (!config.eosTokens().isEmpty()) {
      b.putUInt32("tokenizer.ggml.eos_token_id", config.eosTokens().iterator().next());
    }
    try {
      return Tokenizer.fromGguf(b.build());
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  private static boolean isByteLevel(JsonNode root) {
    return root.path("pre_tokenizer").toString().contains("ByteLevel") || root.path("decoder").toString().contains("ByteLevel");
  }

  private static void put(String[] tokens, int id, String text, Path file) throws IOException {
    if (id < 0 || id >= tokens.length) {
      throw new IOException(file + ": token id " + id + " (" + text + ") outside the model's vocab_size " + tokens.length);
    }
    tokens[id] = text;
  }
}
