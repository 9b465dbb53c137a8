package io.infermesh.core.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The blocks one sequence holds, in position order: position {@code p} lives in slot
 * {@code blocks[p / blockSize] * blockSize + p % blockSize}.
 *
 * <p>A table may share its first blocks with others ({@link #fork}): they are read-only to all of
 * them. Forks split at a block boundary, so the only partially filled block of a prompt is never
 * shared: each fork computes its own copy of it, and no KV rows ever need copying (which a
 * pipeline would have to repeat on every stage). {@link #writeSlots} refuses a shared block.
 *
 * <p>With prefix caching a table also publishes its full, computed blocks ({@link #publish}) and
 * starts with cached blocks of another sequence's identical prefix ({@link #adopt}); those are
 * always whole blocks before the positions it computes, so they too are only ever read.
 *
 * <p>Not thread-safe.
 */
public final class BlockTable {
  private final int blockSize;
  private final List<Integer> blocks = new ArrayList<>();
  private final List<PrefixKey> chain = new ArrayList<>(); // keys of the first blocks, as far as published

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
   * A new table that shares this table's blocks of positions {@code [0, positions)} (a reference
   * each, taken from {@code allocator}); the new table grows with blocks of its own.
   *
   * @throws IllegalArgumentException if {@code positions} is not a whole number of blocks this
   *     table holds
   */
  public BlockTable fork(int positions, BlockAllocator allocator) {
    if (positions < 0 || positions % blockSize != 0 || positions > capacity()) {
      throw new IllegalArgumentException("a fork shares whole blocks this table holds: " + positions
          + " positions with blocks of " + blockSize + " and " + capacity() + " positions held");
    }
    BlockTable copy = new BlockTable(blockSize);
    for (int i = 0; i < positions / blockSize; i++) {
      int b = blocks.get(i);
      allocator.share(b);
      copy.blocks.add(b);
    }
    copy.chain.addAll(chain.subList(0, Math.min(chain.size(), positions / blockSize)));
    return copy;
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

  /**
   * Gives back the blocks beyond the first {@code positions} positions (a rejected draft's KV rows),
   * which must be this table's own.
   */
  public void truncate(int positions, BlockAllocator allocator) {
    int keep = allocator.blocksFor(positions);
    if (keep < blocks.size()) {
      List<Integer> tail = blocks.subList(keep, blocks.size());
      allocator.release(List.copyOf(tail));
      tail.clear();
      if (chain.size() > keep) { // only published blocks have keys, and a draft's rows never are
        chain.subList(keep, chain.size()).clear();
      }
    }
  }

  /**
   * Drops this table's reference to every block (shared ones stay with the other tables) and
   * empties it. Last blocks first: cached, a prefix's tail is evicted before its head, which more
   * prompts share.
   */
  public void release(BlockAllocator allocator) {
    List<Integer> reversed = new ArrayList<>(blocks);
    Collections.reverse(reversed);
    allocator.release(reversed);
    blocks.clear();
    chain.clear();
  }

  /**
   * Starts this empty table with {@code cached} ({@link BlockAllocator#cachedPrefix}, taken in
   * the same step), a reference each: their positions are computed.
   *
   * @return the positions they hold
   */
  public int adopt(List<Integer> cached, BlockAllocator allocator) {
    if (!blocks.isEmpty()) {
      throw new IllegalStateException("a table adopts a cached prefix only when empty; it holds " + blocks.size());
    }
    for (int b : cached) {
      allocator.reuse(b);
      blocks.add(b);
      chain.add(allocator.key(b));
    }
    return capacity();
  }

  /** Leading blocks published (or found already cached under the same prefix). */
  public int publishedBlocks() {
    return chain.size();
  }

  /**
   * Publishes every whole block of {@code computed} (the tokens of positions {@code 0 ..
   * computed.length - 1}, whose rows are in the cache) not published yet, so later sequences with
   * the same leading tokens can read them. A block whose prefix is cached already stays private.
   */
  public void publish(int[] computed, BlockAllocator allocator) {
    int full = Math.min(computed.length / blockSize, blocks.size());
    for (int i = chain.size(); i < full; i++) {
      PrefixKey key = new PrefixKey(i == 0 ? null : chain.get(i - 1),
          Arrays.copyOfRange(computed, i * blockSize, (i + 1) * blockSize));
      chain.add(allocator.key(allocator.publish(blocks.get(i), key)));
    }
  }

  /** The KV slot of position {@code p}. */
  public long slot(int p) {
    int b = p / blockSize;
    if (p < 0 || b >= blocks.size()) {
      throw new IndexOutOfBoundsException("position " + p + " beyond the " + capacity() + " positions held");
    }
    return (long) blocks.get(b) * blockSize + p % blockSize;
  }

  /** Slots of positions {@code [from, to)}, to read. */
  public long[] slots(int from, int to) {
    long[] out = new long[to - from];
    for (int p = from; p < to; p++) {
      out[p - from] = slot(p);
    }
    return out;
  }

  /**
   * Slots of positions {@code [from, to)}, to write.
   *
   * @throws IllegalStateException if one of them is in a block another table shares (its rows
   *     belong to every fork; writing would change their prefix)
   */
  public long[] writeSlots(int from, int to, BlockAllocator allocator) {
    for (int i = from / blockSize; i < blocks.size() && i * blockSize < to; i++) {
      if (allocator.references(blocks.get(i)) > 1) {
        throw new IllegalStateException("position " + Math.max(from, i * blockSize) + " is in block " + blocks.get(i)
            + ", shared by " + allocator.references(blocks.get(i)) + " tables: read-only");
      }
    }
    return slots(from, to);
  }
}
