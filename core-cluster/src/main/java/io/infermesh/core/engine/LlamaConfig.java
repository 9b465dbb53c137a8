package io.infermesh.core.engine;

import java.util.Arrays;
import java.util.Set;

/**
 * The shape of a Llama-family decoder, whatever file it came from.
 *
 * <p>Tensors are described in the Hugging Face layout: {@code q_proj} rows grouped by head, each
 * head's rows in two halves that RoPE rotates against each other (GGUF's pairwise layout is
 * undone when a GGUF file is loaded).
 *
 * @param vocabSize tokens in the vocabulary
 * @param dim hidden size ({@code n_embd})
 * @param ffnDim inner size of the SwiGLU MLP
 * @param layers decoder blocks
 * @param heads query heads
 * @param kvHeads key/value heads (grouped-query attention when fewer than {@code heads})
 * @param headDim size of one head (usually {@code dim / heads})
 * @param contextLength most positions one sequence may use (prompt + completion)
 * @param rmsNormEps epsilon inside RMSNorm
 * @param ropeInverseFrequencies {@code headDim / 2} rotary frequencies, scaling already applied
 * @param tiedEmbeddings whether the LM head reuses the token embedding matrix
 * @param bosToken the beginning-of-sequence token, or -1
 * @param eosTokens tokens that end generation
 */
public record LlamaConfig(
    int vocabSize,
    int dim,
    int ffnDim,
    int layers,
    int heads,
    int kvHeads,
    int headDim,
    int contextLength,
    float rmsNormEps,
    double[] ropeInverseFrequencies,
    boolean tiedEmbeddings,
    int bosToken,
    Set<Integer> eosTokens) {

  public LlamaConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", dim);
    positive("intermediate_size", ffnDim);
    positive("num_hidden_layers", layers);
    positive("num_attention_heads", heads);
    positive("num_key_value_heads", kvHeads);
    positive("head_dim", headDim);
    positive("max_position_embeddings", contextLength);
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads (" + heads + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
    }
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
    }
    if (!(rmsNormEps > 0)) {
      throw new IllegalArgumentException("rms_norm_eps must be positive, got " + rmsNormEps);
    }
    if (ropeInverseFrequencies.length != headDim / 2) {
      throw new IllegalArgumentException(
          "expected " + headDim / 2 + " RoPE frequencies, got " + ropeInverseFrequencies.length);
    }
    ropeInverseFrequencies = ropeInverseFrequencies.clone();
    eosTokens = Set.copyOf(eosTokens);
  }

  /** The plain RoPE frequencies {@code theta^(-2i/headDim)}, i in [0, headDim/2). */
  public static double[] ropeFrequencies(double theta, int headDim) {
    if (!(theta > 0)) {
      throw new IllegalArgumentException("rope_theta must be positive, got " + theta);
    }
    double[] inv = new double[headDim / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
    }
    return inv;
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return heads / kvHeads;
  }

  /** Width of the query projection, {@code heads * headDim}. */
  public int qDim() {
    return heads * headDim;
  }

  /** Width of the key (and value) projection, {@code kvHeads * headDim}. */
  public int kvDim() {
    return kvHeads * headDim;
  }

  @Override
  public double[] ropeInverseFrequencies() {
    return ropeInverseFrequencies.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LlamaConfig c
        && vocabSize == c.vocabSize && dim == c.dim && ffnDim == c.ffnDim && layers == c.layers
        && heads == c.heads && kvHeads == c.kvHeads && headDim == c.headDim
        && contextLength == c.contextLength && rmsNormEps == c.rmsNormEps
        && Arrays.equals(ropeInverseFrequencies, c.ropeInverseFrequencies)
        && tiedEmbeddings == c.tiedEmbeddings && bosToken == c.bosToken && eosTokens.equals(c.eosTokens);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(new int[] {vocabSize, dim, ffnDim, layers, heads, kvHeads, headDim, contextLength});
  }

  @Override
  public String toString() {
    return "LlamaConfig[vocab=" + vocabSize + ", dim=" + dim + ", ffn=" + ffnDim + ", layers=" + layers
        + ", heads=" + heads + "/" + kvHeads + ", headDim=" + headDim + ", ctx=" + contextLength + "]";
  }

  private static void positive(String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " must be positive, got " + value);
    }
  }
}
