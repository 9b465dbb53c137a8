package io.infermesh.core.engine;

import java.io.IOException;

/**
 * Where weights come from: a checkpoint that hands out dense float32 tensors by their Hugging Face
 * name ({@code model.layers.3.self_attn.q_proj.weight}), row-major, in the Hugging Face layout
 * ({@code [out_features, in_features]} for linear layers, q/k rows in RoPE "halves" order).
 *
 * <p>Implementations dequantize and re-layout at read time. Not thread-safe unless stated.
 */
public interface TensorSource extends AutoCloseable {

  /** Whether the checkpoint has a tensor of that name. */
  boolean contains(String name);

  /**
   * Reads one tensor as float32.
   *
   * @param name the Hugging Face tensor name
   * @param shape the shape the model expects; a mismatch is an {@link IOException} naming the tensor
   */
  float[] read(String name, long... shape) throws IOException;

  @Override
  void close() throws IOException;

  /** Canonical tensor names of a Llama decoder. */
  final class Names {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private Names() {}

    public static String layer(int layer, String suffix) {
      return "model.layers." + layer + "." + suffix;
    }

    public static String attnNorm(int l) { return layer(l, "input_layernorm.weight"); }
    public static String q(int l) { return layer(l, "self_attn.q_proj.weight"); }
    public static String k(int l) { return layer(l, "self_attn.k_proj.weight"); }
    public static String v(int l) { return layer(l, "self_attn.v_proj.weight"); }
    public static String o(int l) { return layer(l, "self_attn.o_proj.weight"); }
    public static String ffnNorm(int l) { return layer(l, "post_attention_layernorm.weight"); }
    public static String gate(int l) { return layer(l, "mlp.gate_proj.weight"); }
    public static String up(int l) { return layer(l, "mlp.up_proj.weight"); }
    public static String down(int l) { return layer(l, "mlp.down_proj.weight"); }
  }
}
