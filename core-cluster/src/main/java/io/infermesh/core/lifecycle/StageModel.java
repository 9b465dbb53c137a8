package io.infermesh.core.lifecycle;

import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.WeightPrecision;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The layers of one later pipeline stage (index ≥ 1), loaded and verified: no tokenizer and no
 * scheduler (stage 0 owns those), only the engine slice and its own KV cache, addressed by the
 * slots stage 0 hands out.
 *
 * <p>Not thread-safe: {@link #step} runs on the stage's single worker thread.
 */
public final class StageModel implements AutoCloseable {
  private final String name;
  private final String sha256;
  private final int stageIndex;
  private final int stageCount;
  private final LlamaModel model;

  private StageModel(String name, String sha256, int stageIndex, int stageCount, LlamaModel model) {
    this.name = name;
    this.sha256 = sha256;
    this.stageIndex = stageIndex;
    this.stageCount = stageCount;
    this.model = model;
  }

  /**
   * Verifies {@code path} and loads stage {@code stageIndex} of {@code stageCount} (layers split as
   * evenly as possible) with {@code kvSlots} KV positions.
   *
   * @param precision the number format of the linear weights ({@code engine.dtype})
   * @param kvSlots 0 sizes the cache like the scheduler defaults of stage 0 would
   * @throws IOException with a one-line reason for a missing, corrupt or unsupported model, or a
   *     model with fewer layers than stages
   */
  public static StageModel load(String name, Path path, String sha256, String device, WeightPrecision precision,
      int stageIndex,
      int stageCount, ServedModel.SchedulingLimits scheduling) throws IOException {
    try (Checkpoint cp = Checkpoint.open(path, sha256)) {
      LlamaConfig config = cp.config();
      LayerRange range;
      try {
        range = LayerRange.stage(stageIndex, stageCount, config.layers());
      } catch (IllegalArgumentException e) {
        throw new IOException(path + ": " + e.getMessage(), e);
      }
      var sc = scheduling.resolve(config.contextLength());
      LlamaModel model = cp.load(range, DjlRuntime.device(device), precision, sc.kvBlocks() * sc.kvBlockSize());
      return new StageModel(name, cp.sha256(), stageIndex, stageCount, model);
    }
  }

  public String name() {
    return name;
  }

  /** Digest of the model file; every stage of a pipeline must hold the same. */
  public String sha256() {
    return sha256;
  }

  public int stageIndex() {
    return stageIndex;
  }

  public int stageCount() {
    return stageCount;
  }

  public boolean isLast() {
    return stageIndex == stageCount - 1;
  }

  public LlamaConfig config() {
    return model.config();
  }

  public LayerRange layers() {
    return model.range();
  }

  public int kvSlots() {
    return model.kvSlots();
  }

  public String device() {
    return model.device().toString();
  }

  /**
   * Runs this stage's layers on {@code hidden}, {@code (N, dim)}: hidden states {@code (N, dim)} for
   * the next stage, or on the last stage the logits {@code (S, vocab)} of every sequence's last token.
   *
   * @throws IllegalArgumentException if the batch does not fit the model (positions, slots, shapes)
   */
  public float[] step(ForwardBatch batch, float[] hidden) {
    for (long[] read : batch.readSlots()) {
      for (long slot : read) {
        checkSlot(slot);
      }
    }
    for (long slot : batch.writeSlots()) {
      checkSlot(slot);
    }
    return model.step(batch, hidden);
  }

  private void checkSlot(long slot) {
    if (slot < 0 || slot >= model.kvSlots()) {
      throw new IllegalArgumentException("kv slot " + slot + " outside this stage's " + model.kvSlots() + " slots");
    }
  }

  @Override
  public void close() {
    model.close();
  }
}
