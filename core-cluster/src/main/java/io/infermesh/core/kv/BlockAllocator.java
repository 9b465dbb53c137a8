package io.infermesh.core.kv;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A fixed pool of KV-cache blocks, each {@code blockSize} token positions, allocated once at start
 * and handed out by number. Block {@code b} owns KV slots {@code [b * blockSize, (b+1) * blockSize)}.
 *
 * <p>Blocks are reference-counted: a block of a shared prompt prefix (the choices of one request,
 * see {@link BlockTable#fork}) is held by every table that reads it and returns to the pool when
 * the last one releases it. {@link #usedBlocks()} counts a shared block once.
 *
 * <p>Prefix caching: a full block whose rows are computed may be published under its {@link
 * PrefixKey} ({@link #publish}); later sequences with the same leading tokens find it ({@link
 * #cachedPrefix}) and read it instead of computing it ({@link #reuse}). A published block whose
 * last reference is released stays cached: it counts as free, but the pool hands out uncached free
 * blocks first and evicts a cached one (unpublishing it; its rows are overwritten) only when none
 * is left, the least recently released first. Nothing is published unless the caller does.
 *
 * <p>Not thread-safe: confined to the scheduler's thread.
 */
public final class BlockAllocator {
  private final int blocks;
  private final int blockSize;
  private final ArrayDeque<Integer> free = new ArrayDeque<>(); // free and not cached
  private final LinkedHashSet<Integer> cachedFree = new LinkedHashSet<>(); // release order: the first is evicted first
  private final int[] references; // per block: tables holding it; 0 = free
  private final PrefixKey[] keys; // per block: what it holds when published, else null
  private final Map<PrefixKey, Integer> cached = new HashMap<>(); // published blocks, in use or free

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
    this.keys = new PrefixKey[blocks];
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

  /** Blocks no table holds, cached ones included (they are evicted when needed). */
  public int freeBlocks() {
    return free.size() + cachedFree.size();
  }

  /** Published blocks whose rows can be reused, held by a table or free. */
  public int cachedBlocks() {
    return cached.size();
  }

  /** Blocks held by at least one table; a shared block counts once. */
  public int usedBlocks() {
    return blocks - freeBlocks();
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
   * Takes one free block, with one reference: an uncached one while there is one, else the least
   * recently released cached one, evicted.
   *
   * @return its number, or -1 when the pool is empty
   */
  public int allocate() {
    Integer b = free.pollFirst();
    if (b == null) {
      Iterator<Integer> lru = cachedFree.iterator();
      if (!lru.hasNext()) {
        return -1;
      }
      b = lru.next();
      lru.remove();
      cached.remove(keys[b]);
      keys[b] = null;
    }
    references[b] = 1;
    return b;
  }

  /**
   * The cached blocks holding the first whole blocks of {@code tokens}, in order, as far as they
   * are cached (at most {@code tokens.length / blockSize}); takes nothing.
   */
  public List<Integer> cachedPrefix(int[] tokens) {
    List<Integer> hit = new ArrayList<>();
    PrefixKey parent = null;
    for (int from = 0; from + blockSize <= tokens.length; from += blockSize) {
      Integer b = cached.get(new PrefixKey(parent, Arrays.copyOfRange(tokens, from, from + blockSize)));
      if (b == null) {
        break;
      }
      hit.add(b);
      parent = keys[b];
    }
    return hit;
  }

  /** Adds a reference to a cached block, taking it off the free list when no table held it. */
  void reuse(int block) {
    if (keys[block] == null) {
      throw new IllegalStateException("block " + block + " is not cached");
    }
    if (references[block]++ == 0) {
      cachedFree.remove(block);
    }
  }

  /**
   * Publishes {@code block}, in use and fully computed, as holding {@code key}.
   *
   * @return the key's cached block: {@code block}, or the one that already held the same rows
   *     (then {@code block} stays unpublished)
   */
  int publish(int block, PrefixKey key) {
    checkInUse(block);
    Integer holder = cached.putIfAbsent(key, block);
    if (holder != null) {
      return holder;
    }
    keys[block] = key;
    return block;
  }

  /** The key {@code block} is published under, or null. */
  PrefixKey key(int block) {
    return keys[block];
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
        (keys[b] != null ? cachedFree : free).add(b);
      }
    }
  }

  private void checkInUse(int b) {
    if (b < 0 || b >= blocks || references[b] == 0) {
      throw new IllegalStateException("block " + b + " is not in use");
    }
  }
}
