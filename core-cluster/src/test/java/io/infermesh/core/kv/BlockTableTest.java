package io.infermesh.core.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reference-counted blocks and block tables that share a prefix. */
class BlockTableTest {

  @Test
  void release_sharedBlock_returnsToThePoolWithItsLastReference() {
    BlockAllocator pool = new BlockAllocator(4, 8);
    int b = pool.allocate();
    pool.share(b);
    assertThat(pool.references(b)).isEqualTo(2);
    assertThat(pool.usedBlocks()).as("a shared block counts once").isEqualTo(1);
    pool.release(List.of(b));
    assertThat(pool.freeBlocks()).isEqualTo(3);
    pool.release(List.of(b));
    assertThat(pool.references(b)).isZero();
    assertThat(pool.freeBlocks()).isEqualTo(4);
    assertThatThrownBy(() -> pool.release(List.of(b))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not in use");
    assertThatThrownBy(() -> pool.share(b)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void fork_wholeBlocks_sharesThemAndGrowsWithBlocksOfItsOwn() {
    BlockAllocator pool = new BlockAllocator(8, 4);
    BlockTable parent = new BlockTable(4);
    assertThat(parent.ensure(10, pool)).isTrue(); // 3 blocks, the last one half full
    BlockTable fork = parent.fork(8, pool);
    assertThat(fork.blocks()).containsExactlyElementsOf(parent.blocks().subList(0, 2));
    assertThat(fork.slots(0, 8)).containsExactly(parent.slots(0, 8));
    assertThat(fork.ensure(10, pool)).isTrue();
    assertThat(fork.slot(8)).as("the partial block is the fork's own").isNotEqualTo(parent.slot(8));
    assertThat(pool.usedBlocks()).isEqualTo(4);
    parent.release(pool);
    assertThat(pool.usedBlocks()).as("the fork still holds the prefix").isEqualTo(3);
    assertThat(fork.slots(0, 10)).hasSize(10);
    fork.release(pool);
    assertThat(pool.usedBlocks()).isZero();
  }

  @Test
  void fork_partialBlock_isRefused() {
    BlockAllocator pool = new BlockAllocator(8, 4);
    BlockTable parent = new BlockTable(4);
    parent.ensure(10, pool);
    assertThatThrownBy(() -> parent.fork(9, pool)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("whole blocks");
    assertThatThrownBy(() -> parent.fork(16, pool)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void writeSlots_sharedBlock_isRefusedUntilTheOtherHolderReleasesIt() {
    BlockAllocator pool = new BlockAllocator(8, 4);
    BlockTable parent = new BlockTable(4);
    parent.ensure(10, pool);
    BlockTable fork = parent.fork(8, pool);
    fork.ensure(10, pool);
    assertThat(fork.writeSlots(8, 10, pool)).containsExactly(fork.slots(8, 10)); // its own block
    assertThatThrownBy(() -> fork.writeSlots(7, 9, pool)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("read-only");
    assertThatThrownBy(() -> parent.writeSlots(0, 1, pool)).isInstanceOf(IllegalStateException.class);
    fork.release(pool);
    assertThat(parent.writeSlots(0, 1, pool)).containsExactly(parent.slot(0));
  }
}
