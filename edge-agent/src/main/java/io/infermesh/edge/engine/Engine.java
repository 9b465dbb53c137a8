package io.infermesh.edge.engine;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * A loaded model that renders prompts and generates text. Implementations are thread-safe: up to
 * {@link ModelInfo#parallel()} generations may run at once, each on its caller's thread.
 */
public interface Engine extends AutoCloseable {
  /** What is loaded. */
  ModelInfo info();

  /** Renders {@code messages} with the model's chat template, ready for the assistant's turn. */
  Prompt renderChat(List<ChatMessage> messages);

  /** A raw prompt, used as is. */
  Prompt rawPrompt(String text);

  /** Tokens in the model's vocabulary: token ids (in {@code logit_bias}) must be below it; MAX_VALUE when unknown. */
  default int vocabSize() {
    return Integer.MAX_VALUE;
  }

  /**
   * Whether {@link #tokenize} gives the ids the engine generates with (false for an upstream server,
   * whose tokenizer the edge does not hold).
   */
  default boolean knowsTokenIds() {
    return true;
  }

  /** The token ids of {@code text} (no beginning-of-sequence token). */
  int[] tokenize(String text);

  /**
   * Starts generating a completion of {@code prompt}; the caller pulls the tokens. {@code
   * cancelled} is polled between tokens (and while waiting, where the engine can).
   *
   * @throws EngineException when the engine refuses the request
   */
  Generation start(Prompt prompt, SamplingParams sampling, BooleanSupplier cancelled);

  /**
   * Generates a completion of {@code prompt} on the caller's thread, handing non-empty text to
   * {@code sink} as it is produced, and returns how it ended.
   *
   * @throws CancellationException when {@code cancelled} turned true; generation was stopped and
   *     its slot freed
   * @throws EngineException when the engine fails
   * @throws RuntimeException whatever {@code sink} threw; generation was stopped
   */
  default Completion generate(Prompt prompt, SamplingParams sampling, TokenSink sink, BooleanSupplier cancelled) {
    try (Generation generation = start(prompt, sampling, cancelled)) {
      for (String text; (text = generation.next()) != null; ) {
        if (!text.isEmpty()) {
          sink.accept(text);
        }
      }
      return generation.completion();
    }
  }

  /** Frees the model. No generation may be running. Idempotent. */
  @Override
  void close();
}
