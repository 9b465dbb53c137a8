package io.infermesh.core.schedule;

import io.infermesh.core.kv.BlockAllocator;
import io.infermesh.core.kv.BlockTable;
import java.util.ArrayList;
import java.util.List;

/**
 * The choices of one request ({@link GenerationRequest#choices()}). Choice 0 prefills the prompt;
 * once its KV covers {@link #forkAt} positions — the prompt's whole blocks before its last token —
 * choices {@code 1..n-1} are forked from it: their block tables share those blocks (one reference
 * each) and each computes the rest of the prompt (1 to {@code blockSize} tokens) into a block of its
 * own, then samples with its own random stream. So the prompt is computed about once, and the only
 * partially filled block is never shared (nothing is ever copied between blocks).
 *
 * <p>A prompt of at most one block has nothing to share ({@code forkAt == 0}): its choices are
 * independent sequences from the start. Confined to the scheduler's thread.
 */
final class ChoiceGroup {
  final GenerationRequest request;
  /** Prompt positions the forks share; a multiple of the block size, 0 when nothing is shared. */
  final int forkAt;
  private int unforked; // choices n-unforked .. n-1 wait for choice 0's prefix
  private int open; // choices not finished

  ChoiceGroup(GenerationRequest request, int blockSize) {
    this.request = request;
    int shareable = (request.prompt().length - 1) / blockSize * blockSize; // the last prompt token is never shared
    this.forkAt = request.choices() > 1 ? shareable : 0;
    this.unforked = forkAt > 0 ? request.choices() - 1 : 0;
    this.open = request.choices();
  }

  /** Choices still waiting to be forked from choice 0. */
  int unforked() {
    return unforked;
  }

  /**
   * KV blocks that admitting {@code s} with its forks-to-be needs free: its own, plus for each
   * unforked choice its blocks past the shared prefix (shared blocks counted once).
   */
  int blocksToAdmit(Sequence s, BlockAllocator blocks) {
    int own = blocks.blocksFor(s.length + 1);
    if (s.choice != 0 || unforked == 0) {
      return own;
    }
    int perFork = blocks.blocksFor(request.prompt().length + 1) - forkAt / blocks.blockSize();
    return own + unforked * perFork;
  }

  /** Whether {@code s} (choice 0) has computed the shared prefix and its forks are due. */
  boolean readyToFork(Sequence s) {
    return s.choice == 0 && unforked > 0 && s.computed >= forkAt;
  }

  /** The pending choices, forked from {@code parent}: sharing its first {@link #forkAt} positions, computed. */
  List<Sequence> fork(Sequence parent, BlockAllocator blocks) {
    List<Sequence> out = new ArrayList<>(unforked);
    for (int c = request.choices() - unforked; c < request.choices(); c++) {
      Sequence f = new Sequence(this, c, parent.arrivalNanos, parent.table.fork(forkAt, blocks));
      f.computed = forkAt;
      out.add(f);
    }
    unforked = 0;
    return out;
  }

  /**
   * The pending choices as independent sequences with nothing computed (choice 0 left alone before
   * forking them: they prefill the prompt themselves).
   */
  List<Sequence> detach(Sequence parent, int blockSize) {
    List<Sequence> out = new ArrayList<>(unforked);
    for (int c = request.choices() - unforked; c < request.choices(); c++) {
      out.add(new Sequence(this, c, parent.arrivalNanos, new BlockTable(blockSize)));
    }
    unforked = 0;
    return out;
  }

  /**
   * Marks {@code count} choices finished.
   *
   * @return whether none is left open
   */
  boolean finish(int count) {
    open -= count;
    return open == 0;
  }

  /** Drops the pending choices (choice 0 left with the whole request); the caller reports them finished. */
  int[] dropUnforked() {
    int[] out = new int[unforked];
    for (int i = 0; i < unforked; i++) {
      out[i] = request.choices() - unforked + i;
    }
    unforked = 0;
    return out;
  }
}
