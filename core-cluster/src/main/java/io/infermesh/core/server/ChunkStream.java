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
 * chunk and the choice it belongs to ({@code index}), ServedBy on the first chunk and the last,
 * token ids without text held until text comes (or sent at once on a choice's first chunk, so the
 * caller sees who serves it), each choice's finish reason and usage (the prompt's tokens and that
 * choice's) on its last chunk, the stream completed after the last choice's, failures as their
 * status; and the call's meters (time to first token, time per output token of the longest choice,
 * tokens, request duration by priority and finish); and the call's end with its status and tokens
 * to its {@link CallEnd} (the tenant's account, the audit log). Thread-safe: a backend may call from several
 * threads in turn; every method holds this object's lock.
 */
final class ChunkStream implements GenerationSink {
  private final String requestId;
  private final ServerCallStreamObserver<GenerateChunk> out;
  private final ServedBy servedBy;
  private final Priority priority;
  private final CoreMetrics metrics;
  private final LongSupplier nanoTime;
  private final long startNanos;
  private final CallEnd end;

  @GuardedBy("this")
  private final Pending[] choices;
  @GuardedBy("this")
  private boolean servedBySent;
  @GuardedBy("this")
  private boolean failed; // the call failed: the other choices' output is dropped
  @GuardedBy("this")
  private boolean anyToken;
  @GuardedBy("this")
  private long firstTokenNanos;
  @GuardedBy("this")
  private int counted; // tokens heard through onToken
  @GuardedBy("this")
  private int completionTokens; // of every choice that ended
  @GuardedBy("this")
  private int longest; // completion tokens of the longest choice
  @GuardedBy("this")
  private int reportedPrompt; // the prompt's tokens as the engine reported them
  @GuardedBy("this")
  private int drafted; // draft tokens verified (choice 0: only one-choice calls carry a draft)
  @GuardedBy("this")
  private int draftAccepted;
  @GuardedBy("this")
  private int cachedPrompt; // of those, served from the KV prefix cache

  /** A choice's tokens whose text is not sent yet, and theirs log-probabilities when reported. */
  private static final class Pending {
    final List<Integer> ids = new ArrayList<>();
    final List<TokenLogprob> logprobs = new ArrayList<>();
    boolean sentAny;
  }

  /** The output of {@code call}, served by {@code servedBy}; its times are measured on {@code nanoTime}. */
  ChunkStream(GenerateCall call, ServerCallStreamObserver<GenerateChunk> out, ServedBy servedBy, CoreMetrics metrics,
      LongSupplier nanoTime, CallEnd end) {
    this.end = requireNonNull(end, "end");
    this.requestId = call.requestId();
    this.priority = call.priority();
    this.out = requireNonNull(out, "out");
    this.servedBy = requireNonNull(servedBy, "servedBy");
    this.metrics = requireNonNull(metrics, "metrics");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.startNanos = nanoTime.getAsLong();
    this.choices = new Pending[call.choices()];
    for (int i = 0; i < choices.length; i++) {
      choices[i] = new Pending();
    }
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
  public synchronized void onOutput(int choice, String text, List<Integer> tokenIds, List<TokenLogprob> logprobs) {
    firstToken();
    if (failed || out.isCancelled()) {
      return;
    }
    Pending p = choices[choice];
    p.ids.addAll(tokenIds);
    p.logprobs.addAll(logprobs);
    if (text.isEmpty() && (p.sentAny || p.ids.isEmpty())) {
      return;
    }
    out.onNext(chunk(choice, text).build());
  }

  @Override
  public synchronized void onPromptCached(int cachedTokens) {
    cachedPrompt = Math.max(0, cachedTokens);
  }

  @Override
  public synchronized void onFinished(int choice, io.infermesh.core.schedule.FinishReason reason, String tail,
      int promptTokens, int completion, boolean last) {
    completionTokens += Math.max(0, completion);
    longest = Math.max(longest, completion);
    reportedPrompt = Math.max(reportedPrompt, promptTokens);
    Status failure = StatusMapping.forFinish(reason);
    if (last) {
      long now = nanoTime.getAsLong();
      metrics.tokensGenerated(completionTokens - counted);
      metrics.finished(servedBy.getModelVersion(), priority, reason, now - startNanos,
          longest > 1 && anyToken ? (now - firstTokenNanos) / (longest - 1) : -1);
      end.end(failure == null ? Status.Code.OK : failure.getCode(), reportedPrompt,
          Math.max(completionTokens, counted));
    }
    if (failed || out.isCancelled()) {
      return;
    }
    if (failure != null) {
      failed = true;
      out.onError(failure.asRuntimeException());
      return;
    }
    GenerateChunk.Builder c = chunk(choice, tail)
        .setFinishReason(reason == io.infermesh.core.schedule.FinishReason.LENGTH
            ? FinishReason.FINISH_REASON_LENGTH : FinishReason.FINISH_REASON_STOP)
        .setUsage(Usage.newBuilder().setPromptTokens(Math.max(0, promptTokens))
            .setCompletionTokens(Math.max(0, completion)).setDraftTokens(drafted).setDraftAcceptedTokens(draftAccepted)
            .setCachedTokens(Math.min(cachedPrompt, Math.max(0, promptTokens))));
    if (last) {
      c.setServedBy(servedBy);
    }
    out.onNext(c.build());
    if (last) {
      out.onCompleted();
    }
  }

  @Override
  public synchronized void onDraftVerified(int choice, int draftTokens, int accepted) {
    drafted += draftTokens;
    draftAccepted += accepted;
    metrics.draftVerified(draftTokens, accepted);
  }

  @Override
  public synchronized void onFailed(Throwable error) {
    metrics.finished(servedBy.getModelVersion(), priority, io.infermesh.core.schedule.FinishReason.FAILED, nanoTime.getAsLong() - startNanos, -1);
    end.end(StatusMapping.toStatus(error).getCode(), reportedPrompt, Math.max(completionTokens, counted));
    if (!failed && !out.isCancelled()) {
      failed = true;
      out.onError(StatusMapping.toException(error));
    }
  }

  /** A chunk of {@code choice} with {@code text} and what it held back; ServedBy when none was sent yet. */
  @GuardedBy("this")
  private GenerateChunk.Builder chunk(int choice, String text) {
    Pending p = choices[choice];
    GenerateChunk.Builder c = GenerateChunk.newBuilder().setRequestId(requestId).setIndex(choice).setText(text)
        .addAllTokenIds(p.ids).addAllLogprobs(p.logprobs);
    p.ids.clear();
    p.logprobs.clear();
    p.sentAny = true;
    if (!servedBySent) {
      c.setServedBy(servedBy);
      servedBySent = true;
    }
    return c;
  }

  @GuardedBy("this")
  private void firstToken() {
    if (!anyToken) {
      anyToken = true;
      firstTokenNanos = nanoTime.getAsLong();
      metrics.firstToken(servedBy.getModelVersion(), firstTokenNanos - startNanos);
    }
  }
}
