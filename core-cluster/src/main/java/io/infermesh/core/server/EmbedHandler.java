package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.EmbedResponse;
import io.infermesh.api.v1.Embedding;
import io.infermesh.api.v1.Route;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Tier;
import io.infermesh.api.v1.Usage;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.status.CoreException;

/**
 * {@code Inference.Embed} over the built-in engine: validates the batch (1 to {@link #MAX_INPUTS}
 * non-empty texts, each within the model's context once tokenized, naming the input that is not),
 * then embeds each text with {@link ServedModel#embed} (mean-pooled final hidden state, unit
 * length). Embeddings run on the caller's thread, one at a time per model, beside the batch loop.
 * Stateless apart from its collaborators; thread-safe.
 */
final class EmbedHandler {
  /** The most texts one request may carry (OpenAI allows 2048; a core node answers one at a time). */
  static final int MAX_INPUTS = 256;

  private final String nodeId;
  private final String region;

  EmbedHandler(String nodeId, String region) {
    this.nodeId = requireNonNull(nodeId, "nodeId");
    this.region = requireNonNull(region, "region");
  }

  EmbedResponse embed(EmbedRequest request, ServedModel model) {
    RequestValidator.limit("request_id", request.getRequestId(), RequestValidator.MAX_REQUEST_ID);
    RequestValidator.limit("model", request.getModel(), RequestValidator.MAX_MODEL);
    RequestValidator.limit("tenant", request.getTenant(), RequestValidator.MAX_TENANT);
    RequestValidator.requestId(request.getRequestId());
    RequestValidator.model(request.getModel(), model.name());
    int count = request.getInputCount();
    if (count == 0 || count > MAX_INPUTS) {
      throw CoreException.invalidArgument("input", "must hold 1 to " + MAX_INPUTS + " texts, got " + count);
    }
    int[][] tokens = new int[count][];
    for (int i = 0; i < count; i++) {
      String text = request.getInput(i);
      if (text.isEmpty()) {
        throw CoreException.invalidArgument("input[" + i + "]", "must not be empty");
      }
      tokens[i] = model.tokenizer().encode(text, true, false);
      if (tokens[i].length > model.contextLength()) {
        throw CoreException.invalidArgument("input[" + i + "]", "is " + tokens[i].length
            + " tokens; the model's context is " + model.contextLength());
      }
    }
    EmbedResponse.Builder out = EmbedResponse.newBuilder();
    int promptTokens = 0;
    for (int[] t : tokens) {
      float[] vector = model.embed(t);
      Embedding.Builder e = Embedding.newBuilder();
      for (float v : vector) {
        e.addValues(v);
      }
      out.addEmbeddings(e);
      promptTokens += t.length;
    }
    return out.setUsage(Usage.newBuilder().setPromptTokens(promptTokens))
        .setServedBy(ServedBy.newBuilder().setTier(Tier.TIER_CORE).setNodeId(nodeId).setRegion(region)
            .setModel(model.name()).setModelVersion(model.version()).setRoute(Route.ROUTE_CORE)
            .setRouteReason("direct"))
        .build();
  }
}
