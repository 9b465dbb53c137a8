package io.infermesh.edge.cache;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.FinishReason;
import java.util.ArrayList;
import java.util.List;

/**
 * A finished answer kept for replay: the text with the boundaries of the chunks it was streamed
 * in (so a streaming replay looks like the original stream), how it ended, and its token counts.
 * Immutable.
 */
public final class CachedCompletion {
  private final String text;
  private final int[] chunkEnds;
  private final FinishReason finishReason;
  private final int promptTokens;
  private final int completionTokens;

  private CachedCompletion(
      String text, int[] chunkEnds, FinishReason finishReason, int promptTokens, int completionTokens) {
    this.text = text;
    this.chunkEnds = chunkEnds;
    this.finishReason = finishReason;
    this.promptTokens = promptTokens;
    this.completionTokens = completionTokens;
  }

  /** An answer streamed as {@code chunks}. */
  public static CachedCompletion of(
      List<String> chunks, FinishReason finishReason, int promptTokens, int completionTokens) {
    requireNonNull(finishReason, "finishReason");
    StringBuilder text = new StringBuilder();
    int[] ends = new int[chunks.size()];
    for (int i = 0; i < ends.length; i++) {
      text.append(chunks.get(i));
      ends[i] = text.length();
    }
    return new CachedCompletion(text.toString(), ends, finishReason, promptTokens, completionTokens);
  }

  /** The whole answer. */
  public String text() {
    return text;
  }

  /** The answer in the chunks it was first streamed in. */
  public List<String> chunks() {
    List<String> chunks = new ArrayList<>(chunkEnds.length);
    int start = 0;
    for (int end : chunkEnds) {
      chunks.add(text.substring(start, end));
      start = end;
    }
    return chunks;
  }

  public FinishReason finishReason() {
    return finishReason;
  }

  public int promptTokens() {
    return promptTokens;
  }

  public int completionTokens() {
    return completionTokens;
  }

  /** Approximate bytes this answer holds on the heap. */
  int weight() {
    return 2 * text.length() + 4 * chunkEnds.length + 96;
  }
}
