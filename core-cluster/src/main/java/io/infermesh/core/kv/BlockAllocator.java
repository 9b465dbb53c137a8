package io.infermesh.core.kv;

import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.List;

/**
 * A fixed pool of KV-cache blocks, each {@code blockSize} token positions, allocated once at start
 * and handed out by number. Block {@code b} owns KV slots {@code [b * blockSize, (b+1) * blockSize)}.
 *
 * <p>Not thread-safe: confined to the scheduler's thread.
 */
public final class BlockAllocator {
  private final int blocks;
  private final int blockSize;
  private final ArrayDeque<Integer> free = new ArrayDeque<>();
  private final BitSet inUse;

  public BlockAllocator(int blocks, int blockSize) {
    if (blocks <= 0) {
      throw new IllegalArgumentException("kv blocks must be positive, got " + blocks);
    }
    if (blockSize <= 0) {
      throw new IllegalArgumentException("kv block size must be positive, got " + blockSize);
    }
    this.blocks = blocks;
    this.blockSize = blockSize;
    this.inUse = new BitSet(blocks);
    for (int b = 0; b < blocks; b++) {
      free.add(b);
    }
  }

  public int blockSize() {
    return blockSize;
  }

  public int totalBlocks() {
    return blocks;
  }

  public int freeBlocks() {
    return free.size();
  }

  public int usedBlocks() {
    return blocks - free.size();
  }

  /** Total KV slots of the pool, {@code blocks * blockSize}. */
  public int slots() {
    return blocks * blockSize;
  }

  /** Blocks needed to hold {@code positions} positions. */
  public int blocksFor(int positions) {
    return (positions + blockSize - 1) / blockSize;
  }

  /**
   * Takes one free block.
   *
   * @return its number, or -1 when the pool is empty
   */
  public int allocate() {
    Integer b = free.pollFirst();
    if (b == null) {
      return -1;
    }
    inUse.set(b);
    return b;
  }

  /** Returns blocks to the pool; releasing a block that is not in use is a bug and throws. */
  public void release(List<Integer> owned) {
    for (int b : owned) {
      if (b < 0 || b >= blocks || !inUse.get(b)) {
        throw new IllegalStateException("block " + b + " is not in use");
      }
      inUse.clear(b);
      free.addLast(b);
    }
  }
}
