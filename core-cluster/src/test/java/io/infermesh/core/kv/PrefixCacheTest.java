package io.infermesh.core.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Prefix caching in the block pool: chained keys, reuse with reference counts, LRU eviction. */
class PrefixCacheTest {
  private static final int BS = 4;

  private static int[] tokens(int from, int count) {
    return IntStream.range(from, from + count).toArray();
  }

  /** A table holding {@code tokens} (computed), published. */
  private static BlockTable computed(int[] tokens, BlockAllocator pool) {
    BlockTable t = new BlockTable(BS);
    assertThat(t.ensure(tokens.length, pool)).isTrue();
    t.publish(tokens, pool);
    return t;
  }

  @Test
  void cachedPrefix_findsLeadingWholeBlocksOnly_andChainsOverEverythingBefore() {
    BlockAllocator pool = new BlockAllocator(8, BS);
    BlockTable a = computed(tokens(0, 10), pool); // blocks [0..3] [4..7] published, [8, 9] partial stays private
    assertThat(a.publishedBlocks()).isEqualTo(2);
    assertThat(pool.cachedBlocks()).isEqualTo(2);

    assertThat(pool.cachedPrefix(tokens(0, 12))).isEqualTo(a.blocks().subList(0, 2));
    int[] secondDiffers = tokens(0, 8);
    secondDiffers[5] = 99;
    assertThat(pool.cachedPrefix(secondDiffers)).containsExactly(a.blocks().get(0));
    // the same four tokens after a different first block are a different prefix
    int[] shifted = {7, 7, 7, 7, 4, 5, 6, 7};
    assertThat(pool.cachedPrefix(shifted)).isEmpty();
  }

  @Test
  void adopt_sharesBlocksReadOnly_andAHitOnAFreeCachedBlockTakesItOffTheFreeList() {
    BlockAllocator pool = new BlockAllocator(6, BS);
    BlockTable a = computed(tokens(0, 8), pool);
    BlockTable b = new BlockTable(BS);
    assertThat(b.adopt(pool.cachedPrefix(tokens(0, 8)), pool)).isEqualTo(8);
    assertThat(pool.references(a.blocks().get(0))).isEqualTo(2);
    assertThatThrownBy(() -> b.writeSlots(4, 5, pool)).isInstanceOf(IllegalStateException.class);
    assertThat(pool.usedBlocks()).isEqualTo(2);

    a.release(pool);
    b.release(pool);
    assertThat(pool.freeBlocks()).isEqualTo(6); // cached blocks count as free
    assertThat(pool.cachedBlocks()).isEqualTo(2);
    BlockTable c = new BlockTable(BS);
    c.adopt(pool.cachedPrefix(tokens(0, 8)), pool);
    assertThat(pool.freeBlocks()).isEqualTo(4);
    assertThat(pool.usedBlocks()).isEqualTo(2);
  }

  @Test
  void allocate_handsOutUncachedBlocksFirst_thenEvictsLeastRecentlyReleasedTailFirst() {
    BlockAllocator pool = new BlockAllocator(5, BS);
    BlockTable a = computed(tokens(0, 8), pool); // 2 blocks
    BlockTable b = computed(tokens(100, 8), pool); // 2 blocks
    a.release(pool); // released first: evicted first, its tail before its head
    b.release(pool);
    BlockTable c = new BlockTable(BS);
    assertThat(c.ensure(4, pool)).isTrue(); // the one never-cached block
    assertThat(pool.cachedBlocks()).isEqualTo(4);
    assertThat(c.ensure(8, pool)).isTrue(); // evicts a's second block
    assertThat(pool.cachedBlocks()).isEqualTo(3);
    assertThat(pool.cachedPrefix(tokens(0, 8))).hasSize(1); // a's first block is still found
    assertThat(pool.cachedPrefix(tokens(100, 8))).hasSize(2);
    assertThat(c.ensure(12, pool)).isTrue(); // evicts a's first block
    assertThat(pool.cachedPrefix(tokens(0, 8))).isEmpty();
    assertThat(pool.cachedPrefix(tokens(100, 8))).hasSize(2);
    assertThat(pool.freeBlocks()).isEqualTo(2);
  }

  @Test
  void publish_sameRowsComputedTwice_keepsTheFirstAndTheSecondChainsOnIt() {
    BlockAllocator pool = new BlockAllocator(8, BS);
    BlockTable a = computed(tokens(0, 4), pool);
    BlockTable b = computed(tokens(0, 8), pool); // computed its own copy of block 0 meanwhile
    assertThat(pool.cachedBlocks()).isEqualTo(2); // a's block 0 and b's block 1, chained on a's
    List<Integer> hit = pool.cachedPrefix(tokens(0, 8));
    assertThat(hit).containsExactly(a.blocks().get(0), b.blocks().get(1));
    b.release(pool);
    a.release(pool);
    assertThat(pool.usedBlocks()).isZero();
  }

  @Test
  void reuse_ofABlockThatIsNotCached_isABug() {
    BlockAllocator pool = new BlockAllocator(2, BS);
    int b = pool.allocate();
    assertThatThrownBy(() -> pool.reuse(b)).isInstanceOf(IllegalStateException.class);
  }
}
