package io.infermesh.core.lifecycle;

import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.Samplers;
import io.infermesh.core.engine.TokenLogprobs;
import io.infermesh.core.schedule.StepPlan;
import io.infermesh.core.schedule.StepRunner;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Runs scheduler plans on a whole {@link LlamaModel}: one batched forward pass per step, then one
 * sampler per sequence over its logits. Confined to the batch loop's thread.
 */
public final class ModelRunner implements StepRunner {
  private final LlamaModel model;
  private final Samplers samplers = new Samplers();

  public ModelRunner(LlamaModel model) {
    this.model = model;
  }

  /** The plan as the engine's flat batch; {@code withTokens} false leaves the token ids out (later stages). */
  public static ForwardBatch toBatch(StepPlan plan, boolean withTokens) {
    List<StepPlan.Entry> entries = plan.entries();
    int n = plan.tokenCount();
    int[] tokens = new int[withTokens ? n : 0];
    int[] positions = new int[n];
    long[] write = new long[n];
    int[] offsets = new int[entries.size() + 1];
    long[][] read = new long[entries.size()][];
    int at = 0;
    for (int s = 0; s < entries.size(); s++) {
      StepPlan.Entry e = entries.get(s);
      offsets[s] = at;
      for (int i = 0; i < e.tokens().length; i++) {
        if (withTokens) {
          tokens[at] = e.tokens()[i];
        }
        positions[at] = e.startPosition() + i;
        write[at] = e.writeSlots()[i];
        at++;
      }
      read[s] = e.readSlots();
    }
    offsets[entries.size()] = at;
    return new ForwardBatch(tokens, positions, write, offsets, read);
  }

  /** The plan as the engine's flat batch. */
  public static ForwardBatch toBatch(StepPlan plan) {
    return toBatch(plan, true);
  }

  @Override
  public void run(StepPlan plan, StepCompletion done) {
    int[] sampled;
    int[][] accepted;
    try {
      boolean drafts = plan.entries().stream().anyMatch(e -> e.draftTokens() > 0);
      int[] rows = drafts ? plan.entries().stream().mapToInt(e -> e.draftTokens() + 1).toArray() : null;
      float[] logits = model.step(toBatch(plan), null, rows); // null: the last row of each, as before
      accepted = new int[(int) plan.entries().stream().filter(StepPlan.Entry::samples).count()][];
      sampled = sample(plan, logits, model.config().vocabSize(), samplers, accepted);
    } catch (RuntimeException e) {
      done.failed(e);
      return;
    }
    done.completed(sampled, accepted);
  }

  /**
   * Samples one token for every entry that wants one, from its row of {@code logits}
   * {@code (S, vocab)} flattened.
   */
  public static int[] sample(StepPlan plan, float[] logits, int vocab, Samplers samplers) {
    if (plan.entries().stream().anyMatch(e -> e.draftTokens() > 0)) {
      throw new IllegalArgumentException("a plan with drafts needs their rows of logits: use the engine's runner");
    }
    return sample(plan, logits, vocab, samplers, new int[plan.entries().size()][]);
  }

  /**
   * Samples one token for every entry that wants one, after verifying its draft, if any: entry
   * {@code s} owns {@code draftTokens + 1} rows of {@code logits} {@code (rows, vocab)} flattened, in
   * plan order. {@code accepted[k]} receives the accepted draft tokens of the {@code k}-th sampling
   * entry (empty without a draft).
   */
  static int[] sample(StepPlan plan, float[] logits, int vocab, Samplers samplers, int[][] accepted) {
    List<StepPlan.Entry> entries = plan.entries();
    int count = (int) entries.stream().filter(StepPlan.Entry::samples).count();
    int[] out = new int[count];
    int k = 0;
    int row = 0;
    for (StepPlan.Entry e : entries) {
      int from = row * vocab;
      row += e.draftTokens() + 1;
      if (!e.samples()) {
        continue;
      }
      if (e.draftTokens() == 0) {
        accepted[k] = new int[0];
        out[k++] = samplers.sample(e.requestId(), e.sampling(), logits, from, vocab);
      } else {
        int[] verified = samplers.verify(e.requestId(), e.sampling(), e.draft(), logits, from, vocab);
        accepted[k] = Arrays.copyOf(verified, verified.length - 1);
        out[k++] = verified[verified.length - 1];
      }
    }
    return out;
  }

  /**
   * The log-probabilities of {@code requestId}'s last sampled token, when it asked for them. Read
   * by the request's listener in {@code onToken}, on the batch loop's thread, before the next step
   * samples it again.
   */
  public Optional<TokenLogprobs> lastLogprobs(String requestId) {
    return samplers.lastLogprobs(requestId);
  }

  @Override
  public void release(String requestId) {
    samplers.release(requestId);
  }
}
