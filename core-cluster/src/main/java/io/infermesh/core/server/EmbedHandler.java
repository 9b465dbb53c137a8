package io.infermesh.core.server;

import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.status.CoreException;
import java.util.ArrayList;
import java.util.List;

/**
 * Embeddings on the built-in engine: each text, checked to fit the model's context once tokenized
 * (naming the input that does not), embedded with {@link ServedModel#embed} (mean-pooled final
 * hidden state, unit length). Runs on the caller's thread, one at a time per model, beside the
 * batch loop. Stateless.
 */
final class EmbedHandler {
  private EmbedHandler() {}

  /** The vectors of {@code inputs} (non-empty texts, as the service checked them), in order. */
  static InferenceBackend.Embeddings embed(List<String> inputs, ServedModel model, InferenceBackend.ModelRef ref) {
    int[][] tokens = new int[inputs.size()][];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = model.tokenizer().encode(inputs.get(i), true, false);
      if (tokens[i].length > model.contextLength()) {
        throw CoreException.invalidArgument("input[" + i + "]", "is " + tokens[i].length
            + " tokens; the model's context is " + model.contextLength());
      }
    }
    List<float[]> vectors = new ArrayList<>(tokens.length);
    int promptTokens = 0;
    for (int[] t : tokens) {
      vectors.add(model.embed(t));
      promptTokens += t.length;
    }
    return new InferenceBackend.Embeddings(ref, vectors, promptTokens);
  }
}
