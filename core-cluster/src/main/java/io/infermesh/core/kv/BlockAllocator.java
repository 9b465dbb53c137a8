package io.infermesh.core.kv;

import java.util.ArrayDeque;
import java.util.List;

/**
 * A fixed pool of KV-cache blocks, each {@code blockSize} token positions, allocated once at start
 * and handed out by number. Block {@code b} owns KV slots {@code [b * blockSize, (b+1) * blockSize)}.
 *
 * <p>Blocks are reference-counted: a block of a shared prompt prefix (the choices of one request,
 * see {@link BlockTable#fork}) is held by every table that reads it and returns to the pool when
 * the last one releases it. {@link #usedBlocks()} counts a shared block once.
 *
 * <p>Not thread-safe: confined to the scheduler's thread.
 */
public final class BlockAllocator {
  private final int blocks;
  private final int blockSize;
  private final ArrayDeque<Integer> free = new ArrayDeque<>();
  private final int[] references; // per block: tables holding it; 0 = free

  public BlockAllocator(int blocks, int blockSize) {
    if (blocks <= 0) {
      throw new IllegalArgumentException("kv blocks must be positive, got " + blocks);
    }
    if (blockSize <= 0) {
      throw new IllegalArgumentException("kv block size must be positive, got " + blockSize);
    }
    this.blocks = blocks;
    this.blockSize = blockSize;
    this.references = new int[blocks];
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

  /** Blocks held by at least one table; a shared block counts once. */
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
   * Takes one free block, with one reference.
   *
   * @return its number, or -1 when the pool is empty
   */
  public int allocate() {
    Integer b = free.pollFirst();
    if (b == null) {
      return -1;
    }
    references[b] = 1;
    return b;
  }

  /** Adds a reference to a block in use (another table reads it); sharing a free block is a bug and throws. */
  public void share(int block) {
    checkInUse(block);
    references[block]++;
  }

  /** Tables holding {@code block}; 0 when it is free. */
  public int references(int block) {
    if (block < 0 || block >= blocks) {
      throw new IllegalArgumentException("block " + block + " is outside the pool of " + blocks);
    }
    return references[block];
  }

  /**
   * Drops one reference to each block; a block returns to the pool with its last reference.
   * Releasing a block that is not in use is a bug and throws.
   */
  public void release(List<Integer> owned) {
    for (int b : owned) {
      checkInUse(b);
      if (--references[b] == 0) {
        free.addLast(b);
      }
    }
  }

  private void checkInUse(int b) {
    if (b < 0 || b >= blocks || references[b] == 0) {
      throw new IllegalStateException("block " + b + " is not in use");
    }
  }
}
