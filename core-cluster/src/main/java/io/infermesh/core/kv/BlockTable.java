package io.infermesh.core.kv;

import java.util.ArrayList;
import java.util.List;

/**
 * The blocks one sequence owns, in position order: position {@code p} lives in slot
 * {@code blocks[p / blockSize] * blockSize + p % blockSize}. Not thread-safe.
 */
public final class BlockTable {
  private final int blockSize;
  private final List<Integer> blocks = new ArrayList<>();

  public BlockTable(int blockSize) {
    this.blockSize = blockSize;
  }

  /** Positions this table can hold now. */
  public int capacity() {
    return blocks.size() * blockSize;
  }

  public List<Integer> blocks() {
    return List.copyOf(blocks);
  }

  public int size() {
    return blocks.size();
  }

  /**
   * Grows the table from {@code allocator} until it holds {@code positions} positions.
   *
   * @return false (having taken nothing more) when the pool has too few free blocks
   */
  public boolean ensure(int positions, BlockAllocator allocator) {
    int needed = allocator.blocksFor(positions) - blocks.size();
    if (needed <= 0) {
      return true;
    }
    if (needed > allocator.freeBlocks()) {
      return false;
    }
    for (int i = 0; i < needed; i++) {
      blocks.add(allocator.allocate());
    }
    return true;
  }

  /** Returns every block to {@code allocator} and empties the table. */
  public void release(BlockAllocator allocator) {
    allocator.release(blocks);
    blocks.clear();
  }

  /** The KV slot of position {@code p}. */
  public long slot(int p) {
    int b = p / blockSize;
    if (p < 0 || b >= blocks.size()) {
      throw new IndexOutOfBoundsException("position " + p + " beyond the " + capacity() + " positions held");
    }
    return (long) blocks.get(b) * blockSize + p % blockSize;
  }

  /** Slots of positions {@code [from, to)}. */
  public long[] slots(int from, int to) {
    long[] out = new long[to - from];
    for (int p = from; p < to; p++) {
      out[p - from] = slot(p);
    }
    return out;
  }
}
