package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.api.v1.Usage;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.status.StatusMapping;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * One Generate call's output as chunks, for every backend alike: the caller's request id in each
 * chunk, ServedBy on the first and the last, token ids without text held until text comes (or sent
 * at once on the first chunk, so the caller sees who serves it), usage and the finish reason on the
 * last, failures as their status; and the call's meters (time to first token, time per output
 * token, tokens, request duration by priority and finish). Thread-safe: a backend may call from
 * several threads in turn; every method holds this object's lock.
 */
final class ChunkStream implements GenerationSink {
  private final String requestId;
  private final ServerCallStreamObserver<GenerateChunk> out;
  private final ServedBy servedBy;
  private final Priority priority;
  private final CoreMetrics metrics;
  private final LongSupplier nanoTime;
  private final long startNanos;

  @GuardedBy("this")
  private final List<Integer> pendingIds = new ArrayList<>(); // tokens whose text is not sent yet
  @GuardedBy("this")
  private final List<TokenLogprob> pendingLogprobs = new ArrayList<>(); // theirs, when reported
  @GuardedBy("this")
  private boolean first = true;
  @GuardedBy("this")
  private boolean anyToken;
  @GuardedBy("this")
  private long firstTokenNanos;
  @GuardedBy("this")
  private int counted; // tokens heard through onToken

  /** The output of {@code call}, served by {@code servedBy}; its times are measured on {@code nanoTime}. */
  ChunkStream(GenerateCall call, ServerCallStreamObserver<GenerateChunk> out, ServedBy servedBy, CoreMetrics metrics,
      LongSupplier nanoTime) {
    this.requestId = call.requestId();
    this.priority = call.priority();
    this.out = requireNonNull(out, "out");
    this.servedBy = requireNonNull(servedBy, "servedBy");
    this.metrics = requireNonNull(metrics, "metrics");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.startNanos = nanoTime.getAsLong();
  }

  @Override
  public boolean cancelled() {
    return out.isCancelled();
  }

  @Override
  public synchronized void onToken() {
    firstToken();
    counted++;
    metrics.tokenGenerated();
  }

  @Override
  public synchronized void onOutput(String text, List<Integer> tokenIds, List<TokenLogprob> logprobs) {
    firstToken();
    if (out.isCancelled()) {
      return;
    }
    pendingIds.addAll(tokenIds);
    pendingLogprobs.addAll(logprobs);
    if (text.isEmpty() && !(first && !pendingIds.isEmpty())) {
      return;
    }
    GenerateChunk.Builder c = GenerateChunk.newBuilder().setRequestId(requestId).setText(text)
        .addAllTokenIds(pendingIds).addAllLogprobs(pendingLogprobs);
    pendingIds.clear();
    pendingLogprobs.clear();
    if (first) {
      c.setServedBy(servedBy);
      first = false;
    }
    out.onNext(c.build());
  }

  @Override
  public synchronized void onFinished(io.infermesh.core.schedule.FinishReason reason, String tail, int promptTokens,
      int completionTokens) {
    long now = nanoTime.getAsLong();
    metrics.tokensGenerated(completionTokens - counted);
    metrics.finished(priority, reason, now - startNanos,
        completionTokens > 1 && anyToken ? (now - firstTokenNanos) / (completionTokens - 1) : -1);
    if (out.isCancelled()) {
      return;
    }
    Status failure = StatusMapping.forFinish(reason);
    if (failure != null) {
      out.onError(failure.asRuntimeException());
      return;
    }
    out.onNext(GenerateChunk.newBuilder().setRequestId(requestId).setText(tail).addAllTokenIds(pendingIds)
        .addAllLogprobs(pendingLogprobs)
        .setFinishReason(reason == io.infermesh.core.schedule.FinishReason.LENGTH
            ? FinishReason.FINISH_REASON_LENGTH : FinishReason.FINISH_REASON_STOP)
        .setUsage(Usage.newBuilder().setPromptTokens(Math.max(0, promptTokens))
            .setCompletionTokens(Math.max(0, completionTokens)))
        .setServedBy(servedBy).build());
    out.onCompleted();
  }

  @Override
  public synchronized void onFailed(Throwable error) {
    metrics.finished(priority, io.infermesh.core.schedule.FinishReason.FAILED, nanoTime.getAsLong() - startNanos, -1);
    if (!out.isCancelled()) {
      out.onError(StatusMapping.toException(error));
    }
  }

  @GuardedBy("this")
  private void firstToken() {
    if (!anyToken) {
      anyToken = true;
      firstTokenNanos = nanoTime.getAsLong();
      metrics.firstToken(firstTokenNanos - startNanos);
    }
  }
}
