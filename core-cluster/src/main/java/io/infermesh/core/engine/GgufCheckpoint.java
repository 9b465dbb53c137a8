package io.infermesh.core.engine;

import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufTensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * A llama-architecture GGUF file as a {@link TensorSource}: F32, F16, BF16, Q8_0 and Q4_0 tensors
 * are dequantized at load, GGUF names are mapped to Hugging Face names, and the q/k rows that
 * llama.cpp's converter permuted for pairwise RoPE are put back in the "halves" layout.
 *
 * <p>Not thread-safe.
 */
public final class GgufCheckpoint implements TensorSource {
  private final GgufFile file;
  private final LlamaConfig config;

  private GgufCheckpoint(GgufFile file, LlamaConfig config) {
    this.file = file;
    this.config = config;
  }

  /** Opens {@code path}; a corrupt, truncated or unsupported file fails with a message naming it. */
  public static GgufCheckpoint open(Path path) throws IOException {
    GgufFile file = GgufFile.open(path);
    try {
      return new GgufCheckpoint(file, parseConfig(file));
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e instanceof IOException io ? io : new IOException(path + ": " + e.getMessage(), e);
    }
  }

  public GgufFile file() {
    return file;
  }

  public LlamaConfig config() {
    return config;
  }

  static LlamaConfig parseConfig(GgufFile file) throws IOException {
    GgufMetadata m = file.metadata();
    String arch = m.findString("general.architecture").orElse("(none)");
    if (!arch.equals("llama")) {
      throw new IOException(file.path() + ": general.architecture '" + arch + "' is not supported (supported: llama)");
    }
    int dim = required(m, "llama.embedding_length", file);
    int heads = required(m, "llama.attention.head_count", file);
    int kvHeads = m.findInt("llama.attention.head_count_kv").orElse(heads);
    int headDim = m.findInt("llama.attention.key_length").orElse(dim / heads);
    int ropeDims = m.findInt("llama.rope.dimension_count").orElse(headDim);
    if (ropeDims != headDim) {
      throw new IOException(file.path() + ": partial rotary embeddings (rope.dimension_count " + ropeDims
          + " of head size " + headDim + ") are not supported");
    }
    GgufTensorInfo embed = tensor(file, "token_embd.weight");
    int vocab = m.findInt("llama.vocab_size").orElse((int) embed.dim(1));
    double theta = m.findFloat("llama.rope.freq_base").orElse(10000f);
    double[] inv = LlamaConfig.ropeFrequencies(theta, headDim);
    String scaling = m.findString("llama.rope.scaling.type").orElse("none");
    switch (scaling) {
      case "none" -> {}
      case "linear" -> inv = RopeScaling.linear(inv,
          m.findFloat("llama.rope.scaling.factor").orElse(m.findFloat("llama.rope.scale_linear").orElse(1f)));
      default -> throw new IOException(file.path() + ": rope scaling type '" + scaling + "' is not supported");
    }
    Optional<GgufTensorInfo> freqs = file.findTensor("rope_freqs.weight");
    if (freqs.isPresent()) {
      inv = RopeScaling.divide(inv, file.dequantize(freqs.get()));
    }
    Set<Integer> eos = new HashSet<>();
    m.findInt("tokenizer.ggml.eos_token_id").ifPresent(eos::add);
    m.findInt("tokenizer.ggml.eot_token_id").ifPresent(eos::add);
    try {
      return new LlamaConfig(
          vocab,
          dim,
          required(m, "llama.feed_forward_length", file),
          required(m, "llama.block_count", file),
          heads,
          kvHeads,
          headDim,
          required(m, "llama.context_length", file),
          m.findFloat("llama.attention.layer_norm_rms_epsilon").orElse(1e-5f),
          inv,
          file.findTensor("output.weight").isEmpty(),
          m.findInt("tokenizer.ggml.bos_token_id").orElse(-1),
          eos);
    } catch (IllegalArgumentException e) {
      throw new IOException(file.path() + ": " + e.getMessage(), e);
    }
  }

  private static int required(GgufMetadata m, String key, GgufFile file) throws IOException {
    return m.findInt(key).orElseThrow(() -> new IOException(file.path() + ": missing metadata key " + key));
  }

  private static GgufTensorInfo tensor(GgufFile file, String name) throws IOException {
    return file.findTensor(name).orElseThrow(() -> new IOException(file.path() + ": missing tensor " + name));
  }

  /** The GGUF name of a Hugging Face tensor name, or null if it has none. */
  static String ggufName(String hf) {
    switch (hf) {
      case Names.EMBED:
        return "token_embd.weight";
      case Names.NORM:
        return "output_norm.weight";
      case Names.LM_HEAD:
        return "output.weight";
      default:
        break;
    }
    if (!hf.startsWith("model.layers.")) {
      return null;
    }
    int dot = hf.indexOf('.', "model.layers.".length());
    String layer = hf.substring("model.layers.".length(), dot);
    String suffix = switch (hf.substring(dot + 1)) {
      case "input_layernorm.weight" -> "attn_norm.weight";
      case "self_attn.q_proj.weight" -> "attn_q.weight";
      case "self_attn.k_proj.weight" -> "attn_k.weight";
      case "self_attn.v_proj.weight" -> "attn_v.weight";
      case "self_attn.o_proj.weight" -> "attn_output.weight";
      case "post_attention_layernorm.weight" -> "ffn_norm.weight";
      case "mlp.gate_proj.weight" -> "ffn_gate.weight";
      case "mlp.up_proj.weight" -> "ffn_up.weight";
      case "mlp.down_proj.weight" -> "ffn_down.weight";
      default -> null;
    };
    return suffix == null ? null : "blk." + layer + "." + suffix;
  }

  @Override
  public boolean contains(String name) {
    String g = ggufName(name);
    return g != null && file.findTensor(g).isPresent();
  }

  @Override
  public float[] read(String name, long... shape) throws IOException {
    String g = ggufName(name);
    if (g == null) {
      throw new IOException(file.path() + ": no GGUF equivalent of tensor " + name);
    }
    GgufTensorInfo t = tensor(file, g);
    // GGUF lists dimensions fastest-first: [in, out] for a [out, in] matrix.
    long[] dims = t.dims();
    long[] reversed = new long[dims.length];
    for (int i = 0; i < dims.length; i++) {
      reversed[i] = dims[dims.length - 1 - i];
    }
    if (!Arrays.equals(reversed, shape)) {
      throw new IOException(file.path() + ": tensor " + g + " has shape " + Arrays.toString(reversed)
          + ", expected " + Arrays.toString(shape));
    }
    float[] data;
    try {
      data = file.dequantize(t);
    } catch (UnsupportedOperationException e) {
      throw new IOException(file.path() + ": " + e.getMessage(), e);
    }
    if (g.endsWith("attn_q.weight")) {
      return unpermute(data, config.heads(), config.headDim(), (int) shape[1]);
    }
    if (g.endsWith("attn_k.weight")) {
      return unpermute(data, config.kvHeads(), config.headDim(), (int) shape[1]);
    }
    return data;
  }

  /**
   * Undoes llama.cpp's converter permutation of q/k rows. Within each head the converter stored
   * HF row {@code half * hd/2 + j} at row {@code 2j + half}, so pairwise RoPE rotates
   * {@code (2j, 2j+1)}; the engine rotates {@code (j, j + hd/2)} and wants HF order back.
   */
  static float[] unpermute(float[] rows, int heads, int headDim, int cols) {
    float[] out = new float[rows.length];
    int half = headDim / 2;
    for (int h = 0; h < heads; h++) {
      for (int j = 0; j < half; j++) {
        for (int which = 0; which < 2; which++) {
          int src = h * headDim + 2 * j + which;
          int dst = h * headDim + which * half + j;
          System.arraycopy(rows, src * cols, out, dst * cols, cols);
        }
      }
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    file.close();
  }
}
