/**
 * GGUF, llama.cpp's model file format (versions 2 and 3): {@link io.infermesh.models.gguf.GgufFile}
 * reads and checks a file and maps tensor data on demand (files above 2 GiB included), {@link
 * io.infermesh.models.gguf.GgufWriter} streams one out, and {@link
 * io.infermesh.models.gguf.TensorCodec} converts F32, F16, BF16, Q8_0 and Q4_0 tensor data with
 * ggml's exact block layouts and rounding.
 *
 * <p>Tensor dimensions are in ggml order throughout: ne0, the fastest-varying, first.
 */
package io.infermesh.models.gguf;
