package io.infermesh.core.schedule;

import java.time.Duration;

/**
 * Limits of the scheduler.
 *
 * @param maxQueued requests waiting beyond this are rejected (RESOURCE_EXHAUSTED)
 * @param maxBatchSize sequences in one step
 * @param maxBatchTokens new tokens in one step (decodes count one each)
 * @param prefillChunk most prompt tokens one sequence computes in one step
 * @param kvBlocks blocks in the KV pool
 * @param kvBlockSize positions per block
 * @param contextLength most positions of one sequence
 * @param aging waiting this long raises a request one class (LOW → NORMAL → HIGH)
 * @param defaultRetryAfter the retry hint before any request has finished
 */
public record SchedulerConfig(
    int maxQueued, int maxBatchSize, int maxBatchTokens, int prefillChunk, int kvBlocks, int kvBlockSize,
    int contextLength, Duration aging, Duration defaultRetryAfter) {

  public SchedulerConfig {
    positive("max_queued", maxQueued);
    positive("max_batch_size", maxBatchSize);
    positive("max_batch_tokens", maxBatchTokens);
    positive("prefill_chunk", prefillChunk);
    positive("kv_blocks", kvBlocks);
    positive("kv_block_size", kvBlockSize);
    positive("context_length", contextLength);
    if (aging.isNegative() || aging.isZero()) {
      throw new IllegalArgumentException("aging must be positive, got " + aging);
    }
    if (defaultRetryAfter.isNegative()) {
      throw new IllegalArgumentException("retry_after must not be negative, got " + defaultRetryAfter);
    }
    if ((long) kvBlocks * kvBlockSize < contextLength) {
      throw new IllegalArgumentException("kv_blocks * kv_block_size (" + (long) kvBlocks * kvBlockSize
          + ") must hold at least one full context (" + contextLength + ")");
    }
  }

  /** Sensible defaults for a model with {@code contextLength} positions. */
  public static SchedulerConfig defaults(int contextLength) {
    int blockSize = 16;
    int blocks = Math.max(256, (contextLength + blockSize - 1) / blockSize * 4);
    return new SchedulerConfig(256, 64, 512, 128, blocks, blockSize, contextLength, Duration.ofSeconds(10),
        Duration.ofSeconds(1));
  }

  /** This config with another KV pool. */
  public SchedulerConfig withKv(int blocks, int blockSize) {
    return new SchedulerConfig(maxQueued, maxBatchSize, maxBatchTokens, prefillChunk, blocks, blockSize, contextLength,
        aging, defaultRetryAfter);
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(key + " must be positive, got " + v);
    }
  }
}
