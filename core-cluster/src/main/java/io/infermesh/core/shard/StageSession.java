package io.infermesh.core.shard;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.HiddenStates;
import io.infermesh.api.v1.StageHello;
import io.infermesh.api.v1.StageReady;
import io.infermesh.api.v1.StageReply;
import io.infermesh.api.v1.StageRequest;
import io.infermesh.api.v1.StageSequence;
import io.infermesh.api.v1.StageStep;
import io.infermesh.api.v1.StepResult;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.Samplers;
import io.infermesh.core.lifecycle.StageModel;
import io.infermesh.core.status.CoreException;
import io.infermesh.core.status.StatusMapping;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upstream {@code Shard.Forward} stream on a stage with index ≥ 1. Inbound messages arrive one
 * at a time (gRPC serializes them per call) and are assembled into steps here; each step then runs
 * on the shared worker thread, in arrival order, as do releases (so a release never overtakes the
 * steps before it). The last stage samples with per-request {@link Samplers} confined to the
 * worker; a middle stage forwards over its own {@link NextStageLink}, opened by the hello and
 * closed with the stream, and relays the results. Replies are written under {@code out}'s lock.
 */
final class StageSession implements StreamObserver<StageRequest> {
  private static final Logger log = LoggerFactory.getLogger(StageSession.class);

  private final StageVersions models;
  private final Executor worker;
  private final String selfId;
  private final NextStage next;
  private final Consumer<Boolean> downstreamHealthy;
  private final ServerCallStreamObserver<StageReply> out;
  private final Samplers samplers = new Samplers(); // worker thread only
  private StageModel model; // set by the hello; inbound thread, then read on the worker
  private volatile NextStageLink link;
  private final AtomicBoolean released = new AtomicBoolean(); // the bound model, once
  private StageStep partial; // the step whose hidden rows are still arriving
  private float[] partialHidden;
  private int partialRows;
  private boolean finished; // @GuardedBy("out")

  StageSession(StageVersions models, Executor worker, String selfId, NextStage next,
      Consumer<Boolean> downstreamHealthy, ServerCallStreamObserver<StageReply> out) {
    this.models = models;
    this.worker = worker;
    this.selfId = selfId;
    this.next = next;
    this.downstreamHealthy = downstreamHealthy;
    this.out = out;
  }

  @Override
  public void onNext(StageRequest request) {
    try {
      switch (request.getKindCase()) {
        case HELLO -> hello(request.getHello());
        case STEP -> step(request.getStep());
        case HIDDEN -> hidden(request.getHidden());
        case RELEASE -> release(request.getRelease().getRequestIdsList());
        default -> throw CoreException.invalidArgument("kind", "empty stage request");
      }
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  private void hello(StageHello hello) {
    if (model != null) {
      throw CoreException.invalidArgument("hello", "sent twice on one stream");
    }
    StageModel bound = models.acquire(hello.getModelSha256()); // the version the caller serves, if held
    StageModel m = bound != null ? bound
        : models.current().orElseThrow(() -> CoreException.unavailable("stage is still loading its model"));
    String mismatch = mismatch(hello, m);
    if (mismatch != null) {
      if (bound != null) {
        models.release(bound);
      }
      throw CoreException.of(CoreException.Kind.FAILED_PRECONDITION, "stage " + m.stageIndex() + " of "
          + m.stageCount() + " (" + selfId + "): " + mismatch);
    }
    model = m; // released when the stream ends
    if (m.isLast()) {
      reply(StageReply.newBuilder().setReady(StageReady.newBuilder().addStageIds(selfId)).build());
      return;
    }
    StageHello onward = hello.toBuilder().setStageIndex(m.stageIndex()).build();
    link = next.open(onward, new NextStageLink.Listener() {
      @Override
      public void ready(StageReady ready) {
        downstreamHealthy.accept(true);
        reply(StageReply.newBuilder().setReady(StageReady.newBuilder().addStageIds(selfId)
            .addAllStageIds(ready.getStageIdsList())).build());
      }

      @Override
      public void down(Status status) {
        if (!isFinished()) {
          downstreamHealthy.accept(false);
          fail(CoreException.unavailable("stage " + m.stageIndex() + " lost the next stage " + next.target() + ": "
              + status.getCode() + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")")));
        }
      }
    });
  }

  /** Why {@code hello} does not fit {@code m}, or null. */
  private static String mismatch(StageHello hello, StageModel m) {
    if (hello.getStageCount() != m.stageCount()) {
      return "the caller splits the model into " + hello.getStageCount() + " stages, this node into " + m.stageCount();
    }
    if (hello.getStageIndex() + 1 != m.stageIndex()) {
      return "called by stage " + hello.getStageIndex() + "; only stage " + (m.stageIndex() - 1) + " may call it";
    }
    if (!hello.getModelSha256().equalsIgnoreCase(m.sha256())) {
      return "the caller serves model sha256 "
          + io.infermesh.core.status.ClientText.bounded(hello.getModelSha256()) + ", this stage " + m.sha256();
    }
    if (hello.getHiddenSize() != m.config().dim()) {
      return "hidden size " + hello.getHiddenSize() + " != " + m.config().dim();
    }
    if (hello.getKvSlots() > m.kvSlots()) {
      return "the caller hands out " + hello.getKvSlots() + " KV slots, this stage holds " + m.kvSlots()
          + " (raise scheduler.kv_blocks here)";
    }
    return null;
  }

  private void step(StageStep step) {
    if (model == null) {
      throw CoreException.invalidArgument("step", "sent before the hello");
    }
    if (partial != null) {
      throw CoreException.invalidArgument("step", "step " + step.getStepId() + " began before step "
          + partial.getStepId() + " had all its hidden states");
    }
    int dim = model.config().dim();
    partial = step;
    partialHidden = new float[StageWire.tokenCount(step) * dim];
    partialRows = 0;
    hidden(step.getHidden());
  }

  private void hidden(HiddenStates h) {
    if (partial == null) {
      throw CoreException.invalidArgument("hidden", "hidden states outside a step");
    }
    partialRows += StageWire.unpack(h, model.config().dim(), partialHidden, partialRows);
    if ((long) partialRows * model.config().dim() == partialHidden.length) {
      StageStep step = partial;
      float[] hidden = partialHidden;
      partial = null;
      partialHidden = null;
      submit(() -> run(step, hidden), step.getStepId());
    }
  }

  private void release(List<String> ids) {
    submit(() -> {
      NextStageLink l = link;
      if (l != null) {
        l.release(ids);
      } else {
        ids.forEach(samplers::release);
      }
    }, -1);
  }

  private void submit(Runnable task, long stepId) {
    try {
      worker.execute(task);
    } catch (RejectedExecutionException e) {
      if (stepId >= 0) {
        reply(failure(stepId, "stage " + model.stageIndex() + " is overloaded"));
      }
    }
  }

  /** Runs one step on the worker thread. */
  private void run(StageStep step, float[] hidden) {
    if (isFinished()) {
      return;
    }
    float[] output;
    ForwardBatch batch;
    try {
      batch = StageWire.batch(step);
      output = model.step(batch, hidden);
    } catch (RuntimeException e) {
      log.warn("stage {} could not run step {}", model.stageIndex(), step.getStepId(), e);
      reply(failure(step.getStepId(), "stage " + model.stageIndex() + ": " + e.getMessage()));
      return;
    }
    NextStageLink l = link;
    if (l == null) {
      reply(sample(step, output).build());
      return;
    }
    l.send(step.getStepId(), StageWire.messages(step.toBuilder().clearHidden(), output, model.config().dim()),
        new NextStageLink.StepCallback() {
          @Override
          public void result(StepResult result) {
            reply(StageReply.newBuilder().setResult(result).build());
          }

          @Override
          public void failed(CoreException failure) {
            // the link is down: its listener fails the whole stream
          }
        });
  }

  /** The last stage's answer: one token per sampling sequence, from logits {@code (S, vocab)}. */
  private StageReply.Builder sample(StageStep step, float[] logits) {
    int vocab = model.config().vocabSize();
    StepResult.Builder r = result(step.getStepId());
    List<StageSequence> seqs = step.getSequencesList();
    for (int i = 0; i < seqs.size(); i++) {
      StageSequence s = seqs.get(i);
      if (s.getSample()) {
        r.addTokens(samplers.sample(s.getRequestId(), StageWire.sampling(s.getSampling()), logits, i * vocab, vocab));
      }
    }
    return StageReply.newBuilder().setResult(r);
  }

  private static StepResult.Builder result(long stepId) {
    return StepResult.newBuilder().setStepId(stepId);
  }

  private static StageReply failure(long stepId, String error) {
    return StageReply.newBuilder().setResult(result(stepId).setError(error)).build();
  }

  private void reply(StageReply reply) {
    synchronized (out) {
      if (!finished) {
        out.onNext(reply);
      }
    }
  }

  private boolean isFinished() {
    synchronized (out) {
      return finished;
    }
  }

  /** Ends the stream with {@code e}'s status and drops the link onward. */
  private void fail(Throwable e) {
    boolean first;
    synchronized (out) {
      first = !finished;
      if (first) {
        finished = true;
        out.onError(StatusMapping.toException(e));
      }
    }
    if (first) {
      closeOnward();
    }
  }

  private void end() {
    synchronized (out) {
      finished = true;
    }
    closeOnward();
  }

  private void closeOnward() {
    NextStageLink l = link;
    if (l != null) {
      l.close();
    }
    StageModel bound = model;
    try {
      worker.execute(() -> {
        samplers.clear();
        if (bound != null && released.compareAndSet(false, true)) {
          models.release(bound); // after this stream's last step
        }
      });
    } catch (RejectedExecutionException e) {
      // the worker is gone with the node; so are the samplers and the layers
    }
  }

  /** The upstream cancelled the call. */
  void cancelled() {
    end();
  }

  @Override
  public void onError(Throwable t) {
    end();
  }

  @Override
  public void onCompleted() {
    boolean first;
    synchronized (out) {
      first = !finished;
      if (first) {
        finished = true;
        out.onCompleted();
      }
    }
    closeOnward();
  }
}
