package io.infermesh.core.schedule;

import io.infermesh.core.kv.BlockAllocator;
import io.infermesh.core.kv.BlockTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Iteration-level continuous batching over a paged KV cache. Every call to {@link #schedule()}
 * plans one engine step: first one decode token for each running sequence, then the next prefill
 * chunk of running sequences, then new (or preempted) requests admitted from the queue while the
 * step's token budget, the batch size and free KV blocks allow. {@link #complete} feeds the
 * sampled tokens back; finished sequences free their blocks at once.
 *
 * <p>When a running sequence needs a block and the pool is empty, the lowest-priority, latest
 * running sequence not yet planned in this step is preempted: its blocks are freed and it waits to
 * be recomputed (prompt and generated tokens) — never the whole batch. Waiting requests are taken
 * by priority with aging (each {@code aging} period waited raises one class), then arrival.
 *
 * <p>A request with several choices (OpenAI {@code n}) prefills its prompt once: choice 0 runs
 * alone until it has computed the prompt's whole blocks, then the other choices fork from it,
 * sharing those blocks read-only (reference-counted) and decoding in the same batch, each with its
 * own random stream ({@link ChoiceGroup}). It is admitted when the blocks of all its choices are
 * free, shared ones counted once; cancelling it frees every choice.
 *
 * <p>With prefix caching (vLLM's automatic prefix caching), every whole block a sequence has
 * computed is published under the tokens it holds and all before them; a sequence admitted with
 * nothing computed (a new request, or a preempted one coming back) starts with the cached blocks of
 * its leading tokens, a reference each, and computes from there — always at least its last known
 * token, which it samples after. Blocks nobody holds stay cached until the pool needs them (least
 * recently released first). Admission counts a hit on a block another sequence holds as needing no
 * free block, a hit on a free cached one as taking it. The plans stay deterministic in the tokens,
 * so every pipeline stage, writing and reading the slots the plan names, holds the same rows.
 *
 * <p>Several plans may be in flight at once (micro-batches of a pipeline): a sequence in a plan
 * that is not completed yet is in none of the next plans, and is never preempted. Every stage runs
 * steps in plan order, so KV blocks freed while a plan is in flight (a cancel) can be handed out in
 * the next plan: its writes land after the older plan's.
 *
 * <p>A request with a draft ({@link GenerationRequest#draft}) sends it along with the prompt's
 * last prefill chunk, when the step's token budget and free blocks allow (never by preempting);
 * {@link #complete(StepPlan, int[], int[][])} takes the accepted prefix and the token after it as
 * if decoded one by one, and gives the rejected positions' blocks back.
 *
 * <p>Pure policy: no threads, no I/O; time comes from the injected clock. Not thread-safe: drive it
 * from one thread, or step by step in tests.
 */
public final class Scheduler {
  private static final Comparator<Sequence> BY_PRIORITY_THEN_ARRIVAL =
      Comparator.<Sequence>comparingInt(s -> s.request.priority().rank()).thenComparingLong(s -> s.arrivalNanos);

  private final SchedulerConfig config;
  private final LongSupplier nanoTime;
  private final BlockAllocator blocks;
  private final Map<String, Sequence> live = new HashMap<>(); // by sequence id
  private final Map<String, ChoiceGroup> groups = new HashMap<>(); // by request id
  private final List<Sequence> waiting = new ArrayList<>();
  private final List<Sequence> running = new ArrayList<>();
  private final List<SchedulerEvent> events = new ArrayList<>();
  private final Map<StepPlan, List<Sequence>> inFlight = new IdentityHashMap<>(); // plan -> its sequences, in order
  private final RetryHint retryHint;
  private final boolean prefixCaching;
  private long preemptions;
  private long prefixQueriedTokens; // known tokens of sequences admitted with nothing computed
  private long prefixHitTokens; // of those, the positions found cached

  /** A scheduler without prefix caching. */
  public Scheduler(SchedulerConfig config, LongSupplier nanoTime) {
    this(config, nanoTime, false);
  }

  /** A scheduler that reuses cached prefix blocks when {@code prefixCaching}. */
  public Scheduler(SchedulerConfig config, LongSupplier nanoTime, boolean prefixCaching) {
    this.config = Objects.requireNonNull(config, "config");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.blocks = new BlockAllocator(config.kvBlocks(), config.kvBlockSize());
    this.retryHint = new RetryHint(config.defaultRetryAfter());
    this.prefixCaching = prefixCaching;
  }

  public SchedulerConfig config() {
    return config;
  }

  /**
   * Queues a request, or rejects it when {@code max_queued} sequences already wait.
   *
   * @throws IllegalArgumentException if it can never run here (too long for the context or the
   *     KV pool), its id is already in flight, or its id holds {@code #} (which separates a
   *     choice's number in {@link GenerationRequest#sequenceId})
   */
  public Admission submit(GenerationRequest request) {
    int total = request.prompt().length + request.maxTokens();
    if (total > config.contextLength()) {
      throw new IllegalArgumentException("prompt (" + request.prompt().length + " tokens) + max_tokens ("
          + request.maxTokens() + ") exceeds the context of " + config.contextLength());
    }
    if (request.id().indexOf('#') >= 0) {
      throw new IllegalArgumentException("request id " + request.id() + " must not hold '#'");
    }
    if (groups.containsKey(request.id())) {
      throw new IllegalArgumentException("request id " + request.id() + " is already in flight");
    }
    if (waiting.size() >= config.maxQueued()) {
      return new Admission.Rejected(request.id(), "queue full (" + waiting.size() + " waiting)",
          retryHint.millis(waiting.size(), config.maxBatchSize()));
    }
    ChoiceGroup group = new ChoiceGroup(request, config.kvBlockSize());
    groups.put(request.id(), group);
    long now = nanoTime.getAsLong();
    // with a shared prefix choice 0 goes alone and forks the others; without, all start now
    int independent = group.unforked() > 0 ? 1 : request.choices();
    for (int c = 0; c < independent; c++) {
      Sequence s = new Sequence(group, c, now, new BlockTable(config.kvBlockSize()));
      live.put(s.id(), s);
      waiting.add(s);
    }
    return new Admission.Accepted(request.id());
  }

  /** Cancels a request, every choice of it, freeing their blocks at once. Returns false if it is not in flight. */
  public boolean cancel(String requestId) {
    ChoiceGroup group = groups.get(requestId);
    if (group == null) {
      return false;
    }
    for (Sequence s : List.copyOf(live.values())) {
      if (s.group == group) {
        finish(s, FinishReason.CANCELLED);
      }
    }
    return true;
  }

  /**
   * Cancels one choice of a request (the others go on), freeing the blocks it alone holds. Returns
   * false if that choice is not in flight.
   */
  public boolean cancel(String requestId, int choice) {
    Sequence s = live.get(GenerationRequest.sequenceId(requestId, choice));
    if (s == null) {
      return false;
    }
    if (s.group.unforked() > 0 && s.choice == 0) {
      for (Sequence d : s.group.detach(s, config.kvBlockSize())) { // the choices it was to fork prefill alone
        live.put(d.id(), d);
        waiting.add(d);
      }
    }
    finish(s, FinishReason.CANCELLED);
    return true;
  }

  /** Plans the next step over up to {@code max_batch_size} sequences; an empty plan when nothing can run. */
  public StepPlan schedule() {
    return schedule(config.maxBatchSize());
  }

  /**
   * Plans the next step over at most {@code maxSequences} sequences not already in flight; an empty
   * plan when nothing can run. A non-empty plan is in flight until {@link #complete} or
   * {@link #fail}.
   */
  public StepPlan schedule(int maxSequences) {
    if (maxSequences <= 0) {
      throw new IllegalArgumentException("maxSequences must be positive, got " + maxSequences);
    }
    long now = nanoTime.getAsLong();
    for (Sequence s : List.copyOf(live.values())) {
      if (now - s.request.deadlineNanos() >= 0) {
        finish(s, FinishReason.DEADLINE_EXCEEDED);
      }
    }
    List<StepPlan.Entry> entries = new ArrayList<>();
    List<Sequence> planned = new ArrayList<>();
    int budget = config.maxBatchTokens();
    running.sort(BY_PRIORITY_THEN_ARRIVAL);
    // 1. decodes first, so long prefills never stall them; 2. prefill chunks of running sequences
    for (boolean decodes : new boolean[] {true, false}) {
      for (Sequence s : List.copyOf(running)) {
        if (!s.running || s.inFlight || planned.contains(s) || (s.remaining() == 1) != decodes || budget == 0
            || planned.size() >= maxSequences) {
          continue;
        }
        int n = Math.min(Math.min(s.remaining(), config.prefillChunk()), budget);
        if (!reserve(s, s.computed + n, planned)) {
          continue; // s itself was preempted
        }
        int d = draftFor(s, n, budget);
        entries.add(entry(s, n, d));
        planned.add(s);
        budget -= n + d;
      }
    }
    // 3. admissions, while blocks for the whole known sequence are free
    waiting.sort(Comparator.<Sequence>comparingInt(s -> effectiveRank(s, now)).thenComparingLong(s -> s.arrivalNanos));
    for (Sequence s : List.copyOf(waiting)) {
      if (running.size() >= config.maxBatchSize() || budget == 0 || planned.size() >= maxSequences) {
        break;
      }
      int width = 1 + (s.choice == 0 ? s.group.unforked() : 0); // the choices it will fork
      if (!running.isEmpty() && running.size() + width > config.maxBatchSize()) {
        break;
      }
      // shared prompt blocks count once, cached blocks others hold need none; a group bigger than
      // the pool waits for the whole pool
      List<Integer> hit = cachedPrefix(s);
      int held = (int) hit.stream().filter(b -> blocks.references(b) > 0).count();
      if (Math.min(s.group.blocksToAdmit(s, blocks) - held, blocks.totalBlocks()) > blocks.freeBlocks()) {
        break; // keep priority order: nobody overtakes the head of the queue
      }
      if (prefixCaching && s.computed == 0) {
        adopt(s, hit);
      }
      int n = Math.min(Math.min(s.remaining(), config.prefillChunk()), budget);
      s.table.ensure(s.computed + n, blocks);
      waiting.remove(s);
      running.add(s);
      s.running = true;
      int d = draftFor(s, n, budget);
      entries.add(entry(s, n, d));
      planned.add(s);
      budget -= n + d;
    }
    StepPlan plan = new StepPlan(entries);
    if (!planned.isEmpty()) {
      planned.forEach(s -> s.inFlight = true);
      inFlight.put(plan, planned);
    }
    return plan;
  }

  /**
   * Records a finished step: {@code sampled} holds one token per entry of {@code plan} with
   * {@code samples() == true}, in plan order. Entries whose request was cancelled meanwhile are
   * skipped; a plan no longer tracked (after {@link #failAll}) is ignored.
   */
  public void complete(StepPlan plan, int[] sampled) {
    complete(plan, sampled, new int[sampled.length][0]);
  }

  /**
   * {@link #complete(StepPlan, int[])} with the accepted prefix of each sampling entry's draft,
   * {@code accepted[k]} (empty without a draft): those tokens come first, as if decoded one by one
   * (a stop token or max_tokens among them ends the choice there), then {@code sampled[k]}. The KV
   * blocks of rejected draft positions go back to the pool.
   *
   * @throws IllegalArgumentException if an accepted prefix is not a prefix of the entry's draft
   */
  public void complete(StepPlan plan, int[] sampled, int[][] accepted) {
    List<Sequence> sequences = inFlight.remove(plan);
    if (sequences == null) {
      return;
    }
    int i = 0;
    for (int k = 0; k < sequences.size(); k++) {
      StepPlan.Entry e = plan.entries().get(k);
      Sequence s = sequences.get(k);
      s.inFlight = false;
      int token = e.samples() && i < sampled.length ? sampled[i] : -1;
      int[] kept = e.samples() && i < accepted.length ? accepted[i] : new int[0];
      if (e.samples()) {
        i++;
      }
      if (kept.length > e.draftTokens() || !Arrays.equals(kept, 0, kept.length, e.draft(), 0, kept.length)) {
        throw new IllegalArgumentException("entry " + k + " accepted " + kept.length + " tokens that are not a"
            + " prefix of its draft of " + e.draftTokens());
      }
      if (live.get(e.requestId()) != s || !s.running) {
        continue;
      }
      s.computed = e.startPosition() + e.tokens().length - e.draftTokens() + kept.length;
      // publish only blocks of tokens already in s: accepted draft tokens are appended below, and
      // their full blocks are published when the next step completes
      int known = e.startPosition() + e.tokens().length - e.draftTokens();
      if (prefixCaching && known / config.kvBlockSize() > s.table.publishedBlocks()) {
        s.table.publish(s.tokens(0, known), blocks);
      }
      if (s.group.readyToFork(s)) {
        for (Sequence f : s.group.fork(s, blocks)) { // they join the running batch: admitted with s
          live.put(f.id(), f);
          running.add(f);
          f.running = true;
        }
      }
      if (!e.samples() || token < 0) {
        continue;
      }
      if (e.draftTokens() > 0) {
        s.table.truncate(s.computed + 1, blocks); // rejected draft rows: the next decode writes position computed
        events.add(new SchedulerEvent.DraftVerified(s.request.id(), s.choice, e.draftTokens(), kept.length));
      }
      boolean ended = false;
      for (int t = 0; t < kept.length && !ended; t++) {
        ended = emit(s, kept[t]);
      }
      if (!ended) {
        emit(s, token);
      }
    }
    if (i != sampled.length) {
      throw new IllegalArgumentException("plan samples " + i + " tokens, got " + sampled.length);
    }
  }

  /** Appends {@code token} to {@code s} and reports it; true when it ended {@code s} (stop token, length). */
  private boolean emit(Sequence s, int token) {
    s.append(token);
    events.add(new SchedulerEvent.Token(s.request.id(), s.choice, token, s.generated - 1));
    if (s.request.stopTokens().contains(token)) {
      finish(s, FinishReason.STOP);
      return true;
    } else if (s.generated >= s.request.maxTokens() || s.length >= config.contextLength()) {
      finish(s, FinishReason.LENGTH);
      return true;
    }
    return false;
  }

  /** Fails every request of {@code plan} (the engine could not run it), freeing their blocks. */
  public void fail(StepPlan plan) {
    List<Sequence> sequences = inFlight.remove(plan);
    if (sequences == null) {
      return;
    }
    for (Sequence s : sequences) {
      s.inFlight = false;
      if (live.get(s.id()) == s) {
        finish(s, FinishReason.FAILED);
      }
    }
  }

  /** Plans handed out and not yet completed or failed. */
  public int plansInFlight() {
    return inFlight.size();
  }

  /** Sequences (choices) waiting or running. */
  public int requests() {
    return live.size();
  }

  /** Fails every request in flight (the engine is gone); plans still out are forgotten. */
  public void failAll() {
    inFlight.clear();
    for (Sequence s : List.copyOf(live.values())) {
      finish(s, FinishReason.FAILED);
    }
  }

  /** Events since the last call, in order. */
  public List<SchedulerEvent> drainEvents() {
    List<SchedulerEvent> out = List.copyOf(events);
    events.clear();
    return out;
  }

  /** Whether any request is waiting or running. */
  public boolean hasWork() {
    return !live.isEmpty();
  }

  public SchedulerStats stats() {
    Map<Priority, Integer> queued = new EnumMap<>(Priority.class);
    for (Priority p : Priority.values()) {
      queued.put(p, 0);
    }
    for (Sequence s : waiting) {
      queued.merge(s.request.priority(), 1, Integer::sum);
    }
    return new SchedulerStats(queued, running.size(), blocks.usedBlocks(), blocks.freeBlocks(), preemptions,
        blocks.cachedBlocks(), prefixQueriedTokens, prefixHitTokens);
  }

  /** The cached blocks {@code s} may start with: whole blocks before its last known token. */
  private List<Integer> cachedPrefix(Sequence s) {
    if (!prefixCaching || s.computed > 0) {
      return List.of();
    }
    int bs = config.kvBlockSize();
    return blocks.cachedPrefix(s.tokens(0, (s.length - 1) / bs * bs));
  }

  /** Starts {@code s} (nothing computed) with the cached blocks {@code hit}; a request's first hit is reported. */
  private void adopt(Sequence s, List<Integer> hit) {
    s.computed = s.table.adopt(hit, blocks);
    prefixQueriedTokens += s.length;
    prefixHitTokens += s.computed;
    if (s.computed > 0 && s.choice == 0 && s.preemptions == 0) {
      events.add(new SchedulerEvent.PromptCached(s.request.id(), 0, Math.min(s.computed, s.promptLength())));
    }
  }

  /** Makes room for {@code positions} positions of {@code s}, preempting others; false if {@code s} was preempted. */
  private boolean reserve(Sequence s, int positions, List<Sequence> planned) {
    while (!s.table.ensure(positions, blocks)) {
      Sequence victim = null;
      for (Sequence r : running) {
        if (!planned.contains(r) && !r.inFlight && (victim == null || BY_PRIORITY_THEN_ARRIVAL.compare(r, victim) > 0)) {
          victim = r;
        }
      }
      if (victim == null) {
        victim = s; // nothing else to take from: s waits for blocks itself
      }
      preempt(victim);
      if (victim == s) {
        return false;
      }
    }
    return true;
  }

  private void preempt(Sequence s) {
    s.table.release(blocks);
    s.computed = 0;
    s.running = false;
    s.preemptions++;
    running.remove(s);
    waiting.add(s);
    preemptions++;
  }

  private void finish(Sequence s, FinishReason reason) {
    s.table.release(blocks);
    s.running = false;
    running.remove(s);
    waiting.remove(s);
    live.remove(s.id());
    if (reason == FinishReason.STOP || reason == FinishReason.LENGTH) {
      retryHint.served(nanoTime.getAsLong() - s.arrivalNanos);
    }
    // choice 0 leaving before it forked (cancel, deadline, failure) takes its forks-to-be along
    int[] dropped = s.choice == 0 ? s.group.dropUnforked() : new int[0];
    String id = s.request.id();
    boolean last = s.group.finish(1 + dropped.length);
    events.add(new SchedulerEvent.Finished(id, s.choice, reason, s.promptLength(), s.generated,
        last && dropped.length == 0));
    for (int i = 0; i < dropped.length; i++) {
      events.add(new SchedulerEvent.Finished(id, dropped[i], reason, s.promptLength(), 0,
          last && i == dropped.length - 1));
    }
    if (last) {
      groups.remove(id);
    }
  }

  private int effectiveRank(Sequence s, long now) {
    return s.request.priority().agedRank(now - s.arrivalNanos, config.aging());
  }

  /**
   * How many draft tokens of {@code s} ride along with its prefill chunk of {@code n} tokens: its
   * draft, cut to the step's token budget, when this chunk ends the prompt and the blocks for it
   * are free (a draft never preempts anyone); 0 otherwise. Its one chance: the draft is dropped here.
   */
  private int draftFor(Sequence s, int n, int budget) {
    if (s.draft == null || s.computed + n != s.length || s.generated != 0) {
      return 0;
    }
    int d = Math.min(s.draft.length, budget - n);
    if (d > 0 && !s.table.ensure(s.computed + n + d, blocks)) {
      d = 0;
    }
    if (d == 0) {
      s.draft = null;
    }
    return d;
  }

  /** The entry for {@code n} known tokens of {@code s}, then the first {@code d} tokens of its draft. */
  private StepPlan.Entry entry(Sequence s, int n, int d) {
    int from = s.computed;
    int to = from + n + d;
    int[] tokens = s.tokens(from, from + n);
    if (d > 0) {
      tokens = Arrays.copyOf(tokens, n + d);
      System.arraycopy(s.draft, 0, tokens, n, d);
      s.draft = null;
    }
    return new StepPlan.Entry(s.id(), tokens, from, s.table.writeSlots(from, to, blocks), s.table.slots(0, to),
        from + n == s.length, s.sampling, d);
  }
}
