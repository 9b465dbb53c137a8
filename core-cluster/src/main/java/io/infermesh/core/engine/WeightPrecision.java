package io.infermesh.core.engine;

/**
 * The number format the engine keeps its linear weights in ({@code engine.dtype} in
 * {@code core.yaml}). Embeddings, norms, RoPE tables, the KV cache and the residual stream stay
 * {@code float32} whatever this says; with {@link #FLOAT16} each matmul casts its input to half
 * precision and its result back (see {@link LlamaWeights}).
 *
 * <p>{@code bfloat16} and {@code int8} are refused by name: DJL 0.35.1's PyTorch JNI maps only
 * nine data types, so asking it for a bfloat16 tensor aborts the JVM (its type switch ends in a
 * bare {@code throw;}, which is {@code std::terminate}), and it exposes no quantized linear op
 * (an int8 weight dequantized for every matmul is 5–20× slower than float32; the core-cluster
 * README has the measurement).
 */
public enum WeightPrecision {
  /** Weights as the checkpoint's float32 (or widened to it): the reference path. */
  FLOAT32("float32"),
  /**
   * IEEE half precision: half the bytes per decode step. On a CPU only a gain at a handful of
   * tokens per step (PyTorch's half GEMV is fast, its half GEMM is not); see the README.
   */
  FLOAT16("float16"),
  /**
   * float32 weights plus a half copy (1.5× the memory), the copy used by steps of at most
   * {@link LlamaWeights#HALF_ROWS} tokens: few-stream decode at half's speed, prefill and wide
   * batches at float32's. A sequence's logits then depend slightly on how many tokens shared its
   * step.
   */
  FLOAT16_DECODE("float16-decode");

  private static final String ACCEPTED = "must be float32, float16 or float16-decode";

  private final String configName;

  WeightPrecision(String configName) {
    this.configName = configName;
  }

  /** The name {@code core.yaml} spells it with. */
  public String configName() {
    return configName;
  }

  /**
   * Parses {@code engine.dtype}.
   *
   * @throws IllegalArgumentException naming what is accepted, and why bfloat16 and int8 are not
   */
  public static WeightPrecision parse(String name) {
    return switch (name) {
      case "float32" -> FLOAT32;
      case "float16" -> FLOAT16;
      case "float16-decode" -> FLOAT16_DECODE;
      case "bfloat16" -> throw new IllegalArgumentException("bfloat16 is not available: DJL 0.35.1's PyTorch JNI"
          + " cannot create bfloat16 tensors (asking aborts the process); " + ACCEPTED);
      case "int8" -> throw new IllegalArgumentException("int8 weights are not available: DJL exposes no quantized"
          + " linear op, and dequantizing per matmul is slower than float32; " + ACCEPTED);
      default -> throw new IllegalArgumentException(ACCEPTED + ", got '" + name + "'");
    };
  }

  @Override
  public String toString() {
    return configName;
  }
}
