package io.infermesh.edge.escalate;

import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.Usage;

/** The core's chunks as the edge's stream events. Stateless. */
final class WireChunks {
  private WireChunks() {}

  /** Whether {@code chunk} is the last of its choice (it carries a finish reason). */
  static boolean finishes(GenerateChunk chunk) {
    return chunk.getFinishReason() != io.infermesh.api.v1.FinishReason.FINISH_REASON_UNSPECIFIED;
  }

  /** The text and log-probabilities of {@code chunk}; null when it carries neither. */
  static StreamEvent.Delta delta(GenerateChunk chunk) {
    if (chunk.getLogprobsCount() > 0) {
      return new StreamEvent.Delta(chunk.getText(), WireLogprobs.fromWire(chunk.getLogprobsList()));
    }
    return chunk.getText().isEmpty() ? null : new StreamEvent.Delta(chunk.getText());
  }

  /** The end a finishing chunk announces: its finish reason and usage. */
  static StreamEvent.Done done(GenerateChunk chunk) {
    var u = chunk.getUsage();
    FinishReason finish = chunk.getFinishReason() == io.infermesh.api.v1.FinishReason.FINISH_REASON_LENGTH
        ? FinishReason.LENGTH : FinishReason.STOP;
    return new StreamEvent.Done(finish, new Usage(u.getPromptTokens(), u.getCompletionTokens(), u.getCachedTokens()));
  }

  /** Who served {@code call} as the core named itself in {@code chunk}'s {@code served_by}: model, version, node, region. */
  static Served served(Escalator.Call call, GenerateChunk chunk) {
    var by = chunk.getServedBy();
    return new Served(call.requestId(), call.decision(), by.getModel(), by.getModelVersion(), by.getNodeId(),
        by.getRegion());
  }
}
