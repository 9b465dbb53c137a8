package io.infermesh.core.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes Hugging Face checkpoint directories from a {@link TensorSource}, for loader tests. */
final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafetensorsWriter() {}

  /** Writes {@code tensors} (name → shape) as F32 into one file. */
  static void write(Path file, TensorSource src, Map<String, long[]> tensors) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    Map<String, float[]> data = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : tensors.entrySet()) {
      float[] t = src.read(e.getKey(), e.getValue());
      data.put(e.getKey(), t);
      ObjectNode n = header.putObject(e.getKey());
      n.put("dtype", "F32");
      var shape = n.putArray("shape");
      for (long d : e.getValue()) {
        shape.add(d);
      }
      n.putArray("data_offsets").add(offset).add(offset + 4L * t.length);
      offset += 4L * t.length;
    }
    byte[] h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + h.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(h.length).put(h);
    for (float[] t : data.values()) {
      for (float v : t) {
        buf.putFloat(v);
      }
    }
    Files.write(file, buf.array());
  }

  /** Every tensor of a Llama with config {@code c}, HF names and shapes. */
  static Map<String, long[]> llamaTensors(LlamaConfig c) {
    Map<String, long[]> m = new LinkedHashMap<>();
    m.put(TensorSource.Names.EMBED, new long[] {c.vocabSize(), c.dim()});
    for (int l = 0; l < c.layers(); l++) {
      m.put(TensorSource.Names.attnNorm(l), new long[] {c.dim()});
      m.put(TensorSource.Names.q(l), new long[] {c.qDim(), c.dim()});
      m.put(TensorSource.Names.k(l), new long[] {c.kvDim(), c.dim()});
      m.put(TensorSource.Names.v(l), new long[] {c.kvDim(), c.dim()});
      m.put(TensorSource.Names.o(l), new long[] {c.dim(), c.qDim()});
      m.put(TensorSource.Names.ffnNorm(l), new long[] {c.dim()});
      m.put(TensorSource.Names.gate(l), new long[] {c.ffnDim(), c.dim()});
      m.put(TensorSource.Names.up(l), new long[] {c.ffnDim(), c.dim()});
      m.put(TensorSource.Names.down(l), new long[] {c.dim(), c.ffnDim()});
    }
    m.put(TensorSource.Names.NORM, new long[] {c.dim()});
    if (!c.tiedEmbeddings()) {
      m.put(TensorSource.Names.LM_HEAD, new long[] {c.vocabSize(), c.dim()});
    }
    return m;
  }

  /** A transformers-style config.json; {@code v5} nests RoPE settings in rope_parameters. */
  static void writeConfig(Path dir, LlamaConfig c, double theta, boolean v5) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.putArray("architectures").add("LlamaForCausalLM");
    n.put("model_type", "llama");
    n.put("vocab_size", c.vocabSize());
    n.put("hidden_size", c.dim());
    n.put("intermediate_size", c.ffnDim());
    n.put("num_hidden_layers", c.layers());
    n.put("num_attention_heads", c.heads());
    n.put("num_key_value_heads", c.kvHeads());
    n.put("max_position_embeddings", c.contextLength());
    n.put("rms_norm_eps", c.rmsNormEps());
    n.put("tie_word_embeddings", c.tiedEmbeddings());
    n.put("bos_token_id", c.bosToken());
    var eos = n.putArray("eos_token_id");
    c.eosTokens().forEach(eos::add);
    if (v5) {
      n.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", theta);
      n.put("transformers_version", "5.0.0");
    } else {
      n.put("rope_theta", theta);
      n.putNull("rope_scaling");
      n.put("transformers_version", "4.46.0");
    }
    JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), n);
  }

  /** Writes the tensors sharded over {@code shards} files plus the index. */
  static void writeSharded(Path dir, TensorSource src, Map<String, long[]> tensors, int shards) throws IOException {
    List<String> names = List.copyOf(tensors.keySet());
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata");
    ObjectNode map = index.putObject("weight_map");
    for (int s = 0; s < shards; s++) {
      String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
      Map<String, long[]> part = new LinkedHashMap<>();
      for (int i = s; i < names.size(); i += shards) {
        part.put(names.get(i), tensors.get(names.get(i)));
        map.put(names.get(i), file);
      }
      write(dir.resolve(file), src, part);
    }
    JSON.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
  }
}
