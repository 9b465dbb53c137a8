package io.infermesh.core.shard;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import io.infermesh.api.v1.StageHello;
import io.infermesh.api.v1.StageReady;
import io.infermesh.api.v1.StepResult;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.lifecycle.ModelRunner;
import io.infermesh.core.lifecycle.Placement;
import io.infermesh.core.schedule.StepPlan;
import io.infermesh.core.schedule.StepRunner;
import io.infermesh.core.status.CoreException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 0 of a pipeline as the batch loop's {@link StepRunner}: runs the first layers of a plan on
 * the loop thread, sends the hidden states down the {@code Shard} stream and completes the plan
 * when the sampled tokens come back, so up to {@link #maxInFlight()} micro-batches move through
 * the stages at once (stage 0 computes the next while later stages compute earlier ones).
 *
 * <p>The link reconnects by itself with exponential back-off; while it is down, steps fail with
 * UNAVAILABLE at once and {@code readiness} hears false. Steps in flight when it breaks fail
 * with UNAVAILABLE.
 *
 * <p>{@link #run} and {@link #release} are confined to the batch loop's thread; the rest is
 * thread-safe.
 */
public final class PipelineRunner implements StepRunner, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PipelineRunner.class);

  private final LlamaModel firstStage;
  private final NextStage next;
  private final StageHello hello;
  private final int depth;
  private final Consumer<Boolean> readiness;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger mostInFlight = new AtomicInteger();
  private volatile NextStageLink link;
  private volatile boolean closed;
  @GuardedBy("this")
  private long backoffMillis;
  @GuardedBy("this")
  private boolean wasReady = true; // logs the first failure after being ready loudly
  private long nextStepId = 1; // loop thread only

  private PipelineRunner(LlamaModel firstStage, NextStage next, StageHello hello, int depth,
      Consumer<Boolean> readiness) {
    this.firstStage = firstStage;
    this.next = next;
    this.hello = hello;
    this.depth = depth;
    this.readiness = readiness;
    this.backoffMillis = next.settings().reconnectMin().toMillis();
  }

  /**
   * Starts stage 0 of {@code stageCount} over {@code firstStage} (which must hold the first layer
   * range) and connects to {@code next}; the runner owns {@code next} and closes it.
   *
   * @param readiness hears whether the whole pipeline is reachable, on any thread
   */
  public static PipelineRunner start(LlamaModel firstStage, Placement.Identity model, int stageCount, NextStage next,
      Consumer<Boolean> readiness) {
    Objects.requireNonNull(readiness, "readiness");
    if (!firstStage.range().isFirst() || firstStage.range().isLast()) {
      throw new IllegalArgumentException("stage 0 of a pipeline needs the first layers only, got " + firstStage.range());
    }
    StageHello hello = StageHello.newBuilder()
        .setModel(model.name())
        .setModelSha256(model.sha256())
        .setStageIndex(0)
        .setStageCount(stageCount)
        .setHiddenSize(firstStage.config().dim())
        .setKvSlots(model.kvSlots())
        .build();
    PipelineRunner runner = new PipelineRunner(firstStage, next, hello, stageCount, readiness);
    runner.connect();
    return runner;
  }

  private void connect() {
    if (closed) {
      return;
    }
    link = next.open(hello, new NextStageLink.Listener() {
      @Override
      public void ready(StageReady ready) {
        synchronized (PipelineRunner.this) {
          backoffMillis = next.settings().reconnectMin().toMillis();
          wasReady = true;
        }
        log.info("pipeline ready: stage 0 -> {} ({})", next.target(), String.join(" -> ", ready.getStageIdsList()));
        readiness.accept(true);
      }

      @Override
      public void down(Status status) {
        readiness.accept(false);
        if (closed) {
          return;
        }
        long wait;
        boolean loud;
        synchronized (PipelineRunner.this) {
          wait = backoffMillis;
          backoffMillis = Math.min(backoffMillis * 2, next.settings().reconnectMax().toMillis());
          loud = wasReady;
          wasReady = false;
        }
        if (loud) {
          log.warn("pipeline link to {} is down: {} {}; reconnecting", next.target(), status.getCode(),
              status.getDescription() == null ? "" : status.getDescription());
        } else {
          log.debug("pipeline link to {} still down: {}", next.target(), status);
        }
        try {
          next.timers().schedule(PipelineRunner.this::connect, wait, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
          log.debug("not reconnecting to {}: timers stopped", next.target());
        }
      }
    });
  }

  @Override
  public void run(StepPlan plan, StepCompletion done) {
    NextStageLink l = link;
    if (l == null || !l.ready()) {
      done.failed(CoreException.unavailable("pipeline stage " + next.target() + " is unreachable; retry elsewhere"));
      return;
    }
    if (plan.entries().stream().anyMatch(e -> e.draftTokens() > 0)) { // BuiltInBackend attaches none here
      done.failed(new IllegalStateException("a pipeline cannot verify drafts: its last stage samples one token"));
      return;
    }
    float[] hidden = firstStage.step(ModelRunner.toBatch(plan), null); // (N, dim)
    long stepId = nextStepId++;
    int samples = (int) plan.entries().stream().filter(StepPlan.Entry::samples).count();
    int now = inFlight.incrementAndGet();
    mostInFlight.accumulateAndGet(now, Math::max);
    l.send(stepId, StageWire.step(stepId, plan, hidden, firstStage.config().dim()), new NextStageLink.StepCallback() {
      @Override
      public void result(StepResult result) {
        inFlight.decrementAndGet();
        if (!result.getError().isEmpty()) {
          done.failed(CoreException.unavailable("pipeline step failed: " + result.getError()));
        } else if (result.getTokensCount() != samples) {
          done.failed(CoreException.unavailable("pipeline step " + stepId + " returned " + result.getTokensCount()
              + " tokens for " + samples + " sequences"));
        } else {
          done.completed(result.getTokensList().stream().mapToInt(Integer::intValue).toArray());
        }
      }

      @Override
      public void failed(CoreException failure) {
        inFlight.decrementAndGet();
        done.failed(failure);
      }
    });
  }

  @Override
  public void release(String requestId) {
    NextStageLink l = link;
    if (l != null) {
      l.release(List.of(requestId));
    }
  }

  /** One micro-batch per stage in flight. */
  @Override
  public int maxInFlight() {
    return depth;
  }

  @Override
  public boolean available() {
    NextStageLink l = link;
    return !closed && l != null && l.ready();
  }

  /** The most steps that were in flight at once so far (for tests and metrics). */
  public int mostInFlight() {
    return mostInFlight.get();
  }

  /** Drops the link (steps in flight fail) and closes the channel. */
  @Override
  public void close() {
    closed = true;
    NextStageLink l = link;
    if (l != null) {
      l.close();
    }
    next.close();
  }
}
