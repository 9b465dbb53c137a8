package io.infermesh.models.tiny;

import static java.util.Objects.requireNonNull;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufFormatException;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufTensorInfo;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleConsumer;

/**
 * Writes deterministic tiny Llama-architecture GGUF models: a real (learned) tokenizer, a ChatML
 * chat template, random weights of a fixed seed. They load in llama.cpp and generate gibberish;
 * they exist so every engine path runs for real without downloading weights.
 *
 * <p>The same {@link TinyModelSpec} gives the same bytes on every run and machine: vocabularies
 * are learned without hash-order dependence, weights come from SplitMix64 through float
 * arithmetic only, and the GGUF layout is fixed. Bump {@link #GENERATOR_VERSION} whenever the
 * bytes change on purpose.
 *
 * <p>Thread-safe: concurrent writers of the same spec each write a temporary file and move it
 * into place atomically; readers never see a partial file.
 */
public final class TinyModels {
  /** Written as {@code infermesh.tiny.generator_version}; a file of another version is rewritten. */
  public static final int GENERATOR_VERSION = 1;

  private static final int PART_VALUES = 1 << 18;
  private static final AtomicLong TEMP_COUNTER = new AtomicLong();

  private TinyModels() {}

  /**
   * Writes {@code spec}'s model as {@code directory/spec.fileName()} (creating the directory),
   * or reuses the file there if it already holds this spec's model.
   *
   * @return the model's path
   */
  public static Path write(TinyModelSpec spec, Path directory) throws IOException {
    return write(spec, directory, fraction -> {});
  }

  /**
   * {@link #write(TinyModelSpec, Path)}, reporting the fraction of tensor data written (0 to 1)
   * to {@code progress} as it goes.
   *
   * <p>An existing file is reused when its header (metadata, tensor layout, generator version)
   * equals what would be written and its size is right; data corrupted in place is not detected.
   */
  public static Path write(TinyModelSpec spec, Path directory, DoubleConsumer progress) throws IOException {
    requireNonNull(spec, "spec");
    requireNonNull(directory, "directory");
    requireNonNull(progress, "progress");
    TinyVocabulary vocabulary = TinyVocabulary.of(spec.vocabulary());
    GgufMetadata metadata = metadata(spec, vocabulary);
    List<TinyWeights.Tensor> tensors = TinyWeights.tensors(spec, vocabulary.size());

    Files.createDirectories(directory);
    Path target = directory.resolve(spec.fileName());
    GgufWriter.Builder builder = GgufWriter.builder().metadata(metadata);
    for (TinyWeights.Tensor t : tensors) {
      builder.tensor(t.name(), t.type(), t.dims());
    }
    if (isAlreadyWritten(target, metadata, builder.layout())) {
      progress.accept(1.0);
      return target;
    }

    // Not Files.createTempFile: its owner-only permissions would stick to the model file.
    Path temp = directory.resolve(
        "." + spec.fileName() + "." + ProcessHandle.current().pid() + "-" + TEMP_COUNTER.incrementAndGet() + ".tmp");
    try {
      writeModel(builder, temp, tensors, progress);
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
    return target;
  }

  private static void writeModel(GgufWriter.Builder builder, Path path, List<TinyWeights.Tensor> tensors, DoubleConsumer progress)
      throws IOException {
    long total = 0;
    for (TinyWeights.Tensor t : tensors) total += t.elements();
    long done = 0;
    float[] part = new float[PART_VALUES];
    try (GgufWriter writer = builder.open(path)) {
      for (TinyWeights.Tensor t : tensors) {
        TinyWeights.Stream values = t.stream();
        long n = t.elements();
        long rowLength = t.dims()[0];
        int partValues = (int) Math.max(rowLength, PART_VALUES / rowLength * rowLength);
        if (part.length < partValues) {
          part = new float[partValues];
        }
        for (long at = 0; at < n; at += partValues) {
          int count = (int) Math.min(partValues, n - at);
          values.next(part, count);
          writer.writeTensorPart(t.name(), part, 0, count);
          done += count;
          progress.accept((double) done / total);
        }
      }
    }
  }

  private static boolean isAlreadyWritten(Path target, GgufMetadata metadata, List<GgufTensorInfo> layout) throws IOException {
    if (!Files.isRegularFile(target)) {
      return false;
    }
    try (GgufFile existing = GgufFile.open(target)) {
      if (!existing.metadata().equals(metadata) || !existing.tensors().equals(layout)) {
        return false;
      }
      GgufTensorInfo last = layout.get(layout.size() - 1);
      long end = existing.dataOffset() + last.offset() + last.byteSize();
      long expected = (end + existing.alignment() - 1) / existing.alignment() * existing.alignment();
      return existing.fileSize() == expected;
    } catch (GgufFormatException e) {
      return false; // a broken file: rewrite it
    }
  }

  /** The GGUF metadata of {@code spec}'s model. */
  static GgufMetadata metadata(TinyModelSpec spec, TinyVocabulary vocabulary) {
    GgufMetadata.Builder b = GgufMetadata.builder();
    b.putString("general.architecture", "llama");
    b.putString("general.type", "model");
    b.putString("general.name", "infermesh-tiny-" + spec.name());
    b.putString("general.description",
        "Deterministic tiny test model written by infermesh: learned tokenizer, random weights; its output is gibberish.");
    b.putUInt32("general.file_type", fileType(spec.weightType()));
    if (spec.weightType().isQuantized()) {
      b.putUInt32("general.quantization_version", 2);
    }
    b.putUInt32(GgufMetadata.ALIGNMENT_KEY, GgufMetadata.DEFAULT_ALIGNMENT);
    b.putUInt32("llama.vocab_size", vocabulary.size());
    b.putUInt32("llama.context_length", spec.contextLength());
    b.putUInt32("llama.embedding_length", spec.embeddingLength());
    b.putUInt32("llama.block_count", spec.blockCount());
    b.putUInt32("llama.feed_forward_length", spec.feedForwardLength());
    b.putUInt32("llama.rope.dimension_count", spec.headSize());
    b.putFloat32("llama.rope.freq_base", 10000f);
    b.putUInt32("llama.attention.head_count", spec.headCount());
    b.putUInt32("llama.attention.head_count_kv", spec.headCountKv());
    b.putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    vocabulary.putMetadata(b, spec.chatTemplate().source());
    b.putUInt32("infermesh.tiny.generator_version", GENERATOR_VERSION);
    b.put("infermesh.tiny.seed", GgufValue.uint64(spec.seed()));
    return b.build();
  }

  /** llama.cpp's {@code llama_ftype} for a model whose 2-D weights are {@code type}. */
  private static int fileType(GgmlType type) {
    return switch (type) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 7;
      default -> throw new IllegalArgumentException("no tiny model file type for " + type);
    };
  }
}
