package io.infermesh.core.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.api.v1.Usage;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.status.StatusMapping;
import io.infermesh.models.tokenizer.StreamingDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns one request's tokens into the chunks of its {@code Generate} stream: per choice a text
 * decoder and stop-string matcher, each chunk naming its choice ({@code index}); a choice that
 * meets a stop string is cancelled alone and ends STOP. Each choice's last chunk carries its finish
 * reason and usage (the prompt's tokens and that choice's); after the last choice's the stream
 * completes and the model goes back to its host. A choice that fails fails the call and cancels the
 * others.
 *
 * <p>Called on the batch loop's thread only (see {@link GenerationListener}).
 */
final class ChoiceStreamer implements GenerationListener {
  private final String key; // the scheduler's
  private final String requestId; // the caller's label, echoed
  private final ServedModel model;
  private final ServerCallStreamObserver<GenerateChunk> out;
  private final ServedBy servedBy;
  private final CoreMetrics metrics;
  private final Priority priority;
  private final boolean logprobs;
  private final ChoiceText[] choices;
  private final long startNanos = System.nanoTime();
  private long firstTokenNanos;
  private boolean servedBySent;
  private boolean failed;
  private int longest; // completion tokens of the longest choice, for the time per output token

  /** One choice's text state. */
  private static final class ChoiceText {
    final String sequenceId; // its key in the runner, for its log-probabilities
    final StreamingDecoder decoder;
    final StopMatcher stops;
    final List<Integer> pendingIds = new ArrayList<>(); // tokens whose text is not sent yet
    final List<TokenLogprob> pendingLogprobs = new ArrayList<>(); // theirs, when asked for
    boolean sentAny;

    ChoiceText(String sequenceId, ServedModel model, List<String> stopStrings) {
      this.sequenceId = sequenceId;
      this.decoder = model.tokenizer().newStreamingDecoder(false);
      this.stops = new StopMatcher(stopStrings);
    }
  }

  ChoiceStreamer(GenerationRequest request, String requestId, ServedModel model,
      ServerCallStreamObserver<GenerateChunk> out, ServedBy servedBy, List<String> stopStrings, CoreMetrics metrics) {
    this.key = request.id();
    this.requestId = Objects.requireNonNull(requestId, "requestId");
    this.model = Objects.requireNonNull(model, "model");
    this.out = Objects.requireNonNull(out, "out");
    this.servedBy = Objects.requireNonNull(servedBy, "servedBy");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.priority = request.priority();
    this.logprobs = request.sampling().logprobs();
    this.choices = new ChoiceText[request.choices()];
    for (int i = 0; i < choices.length; i++) {
      choices[i] = new ChoiceText(request.sequenceId(i), model, stopStrings);
    }
  }

  @Override
  public void onToken(int choice, int token, int index) {
    if (firstTokenNanos == 0) {
      firstTokenNanos = System.nanoTime();
      metrics.firstToken(firstTokenNanos - startNanos);
    }
    metrics.tokenGenerated();
    ChoiceText c = choices[choice];
    if (failed || c.stops.stopped() || model.tokenizer().isEndOfGeneration(token)) {
      return;
    }
    String text = c.stops.accept(c.decoder.accept(token));
    if (c.stops.stopped()) {
      model.loop().cancel(key, choice); // finishes as CANCELLED; reported as STOP below
    }
    c.pendingIds.add(token);
    if (logprobs) {
      model.lastLogprobs(c.sequenceId).ifPresent(lp -> c.pendingLogprobs.add(Logprobs.toWire(lp, model.tokenizer())));
    }
    if (!out.isCancelled() && (!text.isEmpty() || !c.sentAny)) {
      GenerateChunk.Builder chunk = GenerateChunk.newBuilder().setRequestId(requestId).setIndex(choice).setText(text)
          .addAllTokenIds(c.pendingIds).addAllLogprobs(c.pendingLogprobs);
      c.pendingIds.clear();
      c.pendingLogprobs.clear();
      c.sentAny = true;
      if (!servedBySent) {
        chunk.setServedBy(servedBy);
        servedBySent = true;
      }
      out.onNext(chunk.build());
    }
  }

  @Override
  public void onFinished(int choice, io.infermesh.core.schedule.FinishReason reason, int promptTokens,
      int completion, boolean last) {
    longest = Math.max(longest, completion);
    if (last) {
      model.release();
      long now = System.nanoTime();
      metrics.finished(priority, reason, now - startNanos, longest > 1 && firstTokenNanos > 0
          ? (now - firstTokenNanos) / (longest - 1) : -1);
    }
    if (failed || out.isCancelled()) {
      return;
    }
    ChoiceText c = choices[choice];
    FinishReason finish;
    if (reason == io.infermesh.core.schedule.FinishReason.CANCELLED && c.stops.stopped()) {
      finish = FinishReason.FINISH_REASON_STOP; // we cancelled it on a stop string
    } else {
      Status failure = StatusMapping.forFinish(reason);
      if (failure != null) {
        failed = true;
        out.onError(failure.asRuntimeException());
        if (!last) {
          model.loop().cancel(key); // the answer is lost: free the other choices
        }
        return;
      }
      finish = reason == io.infermesh.core.schedule.FinishReason.STOP
          ? FinishReason.FINISH_REASON_STOP : FinishReason.FINISH_REASON_LENGTH;
    }
    String tail = c.stops.accept(c.decoder.flush()) + c.stops.flush();
    GenerateChunk.Builder chunk = GenerateChunk.newBuilder().setRequestId(requestId).setIndex(choice).setText(tail)
        .addAllTokenIds(c.pendingIds).addAllLogprobs(c.pendingLogprobs).setFinishReason(finish)
        .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(completion));
    if (last) {
      chunk.setServedBy(servedBy);
    }
    out.onNext(chunk.build());
    if (last) {
      out.onCompleted();
    }
  }
}
