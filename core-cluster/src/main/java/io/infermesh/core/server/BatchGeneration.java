package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.schedule.Admission;
import io.infermesh.core.schedule.FinishReason;
import io.infermesh.core.schedule.GenerationListener;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.status.CoreException;
import io.infermesh.models.tokenizer.StreamingDecoder;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One call on the built-in engine's batch loop: holds its model from {@link
 * BuiltInBackend#prepare} until the loop reports its end (or refuses it), decodes its tokens to
 * text, and cuts it at a stop string (cancelling it in the scheduler, reported as STOP). With
 * {@code n} choices the loop prefills the prompt once and decodes the choices together, each cut at
 * its own stop string. Cancelling frees its KV blocks (every choice's) at once. Thread-safe: {@link #start} and {@link #cancel} from any thread, the
 * listener on the loop's thread only.
 */
final class BatchGeneration implements InferenceBackend.Generation {
  private final ServedModel model;
  private final String key; // the scheduler's
  private final GenerationRequest request;
  private final List<String> stopStrings;
  private final AtomicBoolean held = new AtomicBoolean(true); // the model, acquired by prepare
  private volatile boolean cancelled;

  BatchGeneration(ServedModel model, String key, GenerationRequest request, List<String> stopStrings) {
    this.model = requireNonNull(model, "model");
    this.key = requireNonNull(key, "key");
    this.request = requireNonNull(request, "request");
    this.stopStrings = List.copyOf(stopStrings);
  }

  @Override
  public InferenceBackend.ModelRef model() {
    return new InferenceBackend.ModelRef(model.name(), model.version());
  }

  @Override
  public Admission start(GenerationSink sink) {
    Admission a;
    try {
      a = model.loop().submit(request, new Streamer(sink));
    } catch (RuntimeException e) {
      release();
      throw e;
    }
    if (a instanceof Admission.Rejected) {
      release();
    } else if (cancelled) {
      model.loop().cancel(key); // the caller left while it was being queued
    }
    return a;
  }

  @Override
  public void cancel() {
    cancelled = true;
    model.loop().cancel(key);
  }

  private void release() {
    if (held.compareAndSet(true, false)) {
      model.release();
    }
  }

  /**
   * Turns the loop's tokens into text for {@code sink}, per choice: its own decoder and stop-string
   * matcher; a choice that meets a stop string is cancelled alone and ends STOP; a choice that fails
   * cancels the others (the answer is lost). Called on the batch loop's thread only.
   */
  private final class Streamer implements GenerationListener {
    private final GenerationSink sink;
    private final StreamingDecoder[] decoders = new StreamingDecoder[request.choices()];
    private final StopMatcher[] stops = new StopMatcher[request.choices()];
    private boolean scheduled; // confined to the batch loop's thread
    private final int[] counted = new int[request.choices()]; // tokens up to a stop string, per choice

    Streamer(GenerationSink sink) {
      this.sink = sink;
      for (int i = 0; i < decoders.length; i++) {
        decoders[i] = model.tokenizer().newStreamingDecoder(false);
        stops[i] = new StopMatcher(stopStrings);
      }
    }

    @Override
    public void onScheduled() {
      if (!scheduled) {
        scheduled = true;
        sink.onScheduled();
      }
    }

    @Override
    public void onToken(int choice, int token, int index) {
      StopMatcher stop = stops[choice];
      if (stop.stopped()) {
        return; // tokens of an accepted draft past the stop string: decoding alone would have stopped
      }
      sink.onToken();
      counted[choice]++;
      if (model.tokenizer().isEndOfGeneration(token)) {
        return;
      }
      String text = stop.accept(decoders[choice].accept(token));
      if (stop.stopped()) {
        model.loop().cancel(key, choice); // finishes as CANCELLED; reported as STOP below
      }
      List<TokenLogprob> logprobs = request.sampling().logprobs()
          ? model.lastLogprobs(request.sequenceId(choice)).map(lp -> List.of(Logprobs.toWire(lp, model.tokenizer())))
              .orElse(List.of())
          : List.of();
      sink.onOutput(choice, text, List.of(token), logprobs);
    }

    @Override
    public void onPromptCached(int cachedTokens) {
      sink.onPromptCached(cachedTokens);
    }

    @Override
    public void onFinished(int choice, FinishReason reason, int promptTokens, int completionTokens, boolean last) {
      if (last) {
        release();
      }
      if (reason == FinishReason.FAILED && model.unloadReason().isPresent()) {
        if (last) { // the version was unloaded under it after its drain timeout: say so, not "engine failed"
          sink.onFailed(CoreException.unavailable(model.unloadReason().get()));
        }
        return;
      }
      StopMatcher stop = stops[choice];
      FinishReason r = reason == FinishReason.CANCELLED && stop.stopped() ? FinishReason.STOP : reason;
      boolean normal = r == FinishReason.STOP || r == FinishReason.LENGTH;
      if (!normal && !last) {
        model.loop().cancel(key); // the call fails: free the other choices
      }
      String tail = normal ? stop.accept(decoders[choice].flush()) + stop.flush() : "";
      sink.onFinished(choice, r, tail, promptTokens, stop.stopped() ? counted[choice] : completionTokens, last);
    }

    @Override
    public void onDraftVerified(int choice, int drafted, int accepted) {
      sink.onDraftVerified(choice, drafted, accepted);
    }
  }
}
