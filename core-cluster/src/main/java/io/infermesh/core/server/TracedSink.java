package io.infermesh.core.server;

import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.core.schedule.FinishReason;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.util.List;
import java.util.Locale;

/**
 * A call's phases on this node as spans, children of the call's server span: {@code
 * infermesh.core.queue} from admission until the scheduler first runs it, {@code
 * infermesh.core.prefill} until its first token, {@code infermesh.core.decode} until it ends (with
 * the GenAI usage and finish reason). Backends that do not report scheduling (an upstream) have no
 * prefill span: queue runs until the first token. Passes everything on to the sink it wraps.
 * Called one callback at a time (the {@link GenerationSink} contract); the phase fields are
 * confined to that sequence.
 */
final class TracedSink implements GenerationSink {
  static final String QUEUE = "infermesh.core.queue";
  static final String PREFILL = "infermesh.core.prefill";
  static final String DECODE = "infermesh.core.decode";
  private static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  private static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  private static final AttributeKey<List<String>> FINISH_REASONS =
      AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");

  private final GenerationSink inner;
  private final Tracer tracer;
  private final Context parent;
  private Span phase;
  private String phaseName;

  /** Starts the queue span of a call, child of {@code parent}. */
  TracedSink(GenerationSink inner, Tracer tracer, Context parent) {
    this.inner = inner;
    this.tracer = tracer;
    this.parent = parent;
    this.phase = tracer.spanBuilder(QUEUE).setParent(parent).startSpan();
    this.phaseName = QUEUE;
  }

  private void enter(String name) {
    phase.end();
    phase = tracer.spanBuilder(name).setParent(parent).startSpan();
    phaseName = name;
  }

  /** Ends the current phase as failed with {@code code} (e.g. RESOURCE_EXHAUSTED when not admitted). */
  void refused(String code) {
    phase.setStatus(StatusCode.ERROR, code);
    phase.end();
    phaseName = null;
  }

  @Override
  public boolean cancelled() {
    return inner.cancelled();
  }

  @Override
  public void onScheduled() {
    if (QUEUE.equals(phaseName)) {
      enter(PREFILL);
    }
    inner.onScheduled();
  }

  @Override
  public void onToken() {
    if (QUEUE.equals(phaseName) || PREFILL.equals(phaseName)) {
      enter(DECODE);
    }
    inner.onToken();
  }

  @Override
  public void onPromptCached(int cachedTokens) {
    inner.onPromptCached(cachedTokens);
  }

  @Override
  public void onDraftVerified(int choice, int drafted, int accepted) {
    inner.onDraftVerified(choice, drafted, accepted);
  }

  @Override
  public void onOutput(int choice, String text, List<Integer> tokenIds, List<TokenLogprob> logprobs) {
    inner.onOutput(choice, text, tokenIds, logprobs);
  }

  @Override
  public void onFinished(int choice, FinishReason reason, String tail, int promptTokens, int completionTokens,
      boolean last) {
    try {
      inner.onFinished(choice, reason, tail, promptTokens, completionTokens, last);
    } finally {
      if (last && phaseName != null) {
        phase.setAttribute(INPUT_TOKENS, (long) promptTokens);
        phase.setAttribute(OUTPUT_TOKENS, (long) completionTokens);
        phase.setAttribute(FINISH_REASONS, List.of(reason.name().toLowerCase(Locale.ROOT)));
        if (reason != FinishReason.STOP && reason != FinishReason.LENGTH) {
          phase.setStatus(StatusCode.ERROR, reason.name());
        }
        phase.end();
        phaseName = null;
      }
    }
  }

  @Override
  public void onFailed(Throwable error) {
    try {
      inner.onFailed(error);
    } finally {
      if (phaseName != null) {
        phase.setStatus(StatusCode.ERROR, error.getClass().getSimpleName());
        phase.end();
        phaseName = null;
      }
    }
  }
}
