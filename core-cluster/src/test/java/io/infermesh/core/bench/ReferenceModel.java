package io.infermesh.core.bench;

import io.infermesh.core.engine.HfExport;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The ~200M-parameter Llama the core is compared on, written deterministically (random weights of
 * a fixed seed) as F32 GGUF for the core and llama.cpp, and exported from that file as a Hugging
 * Face directory for PyTorch, so every engine reads the same values. Shape: 1,024 wide, 12
 * layers, 16 query / 8 key-value heads of 64, FFN 2,816, a 32,000-token vocabulary that decodes to
 * words ({@link VocabularyKind#BPE_32K_WORDS}). Both are reused while the GGUF is unchanged.
 *
 * @param spec the model's shape and seed
 * @param gguf the F32 GGUF file
 * @param hfDir the Hugging Face export ({@code config.json}, {@code model.safetensors})
 */
record ReferenceModel(TinyModelSpec spec, Path gguf, Path hfDir) {
  static final TinyModelSpec SPEC = new TinyModelSpec("llama-200m", VocabularyKind.BPE_32K_WORDS, 1024, 12, 16, 8,
      2816, 2048, GgmlType.F32, 0x1AFE_2025_0000_0200L);

  /** Writes both layouts into {@code dir}, or reuses what an earlier run wrote there. */
  static ReferenceModel writeOrReuse(Path dir) throws IOException {
    Path gguf = TinyModels.write(SPEC, dir);
    Path hf = dir.resolve("llama-200m-f32-hf");
    Path stamp = hf.resolve("exported-from");
    String source = gguf.getFileName() + " " + Files.size(gguf) + " " + Files.getLastModifiedTime(gguf).toMillis();
    if (!Files.isRegularFile(stamp) || !Files.readString(stamp).equals(source)) {
      HfExport.write(gguf, hf);
      Files.writeString(stamp, source);
    }
    return new ReferenceModel(SPEC, gguf, hf);
  }

  /** Parameters, embeddings and output layer included. */
  long parameters() {
    long e = spec.embeddingLength();
    long kv = (long) spec.headCountKv() * spec.headSize();
    long ff = spec.feedForwardLength();
    long vocab = 32_000;
    long layer = 2 * e * e + 2 * e * kv + 3 * e * ff + 2 * e;
    return spec.blockCount() * layer + 2 * vocab * e + e;
  }
}
