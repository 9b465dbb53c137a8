package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.grpc.Status;
import io.infermesh.api.v1.EmbedRequest;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.core.constrain.Constraints;
import io.infermesh.core.constrain.RequestGrammar;
import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.lifecycle.ChatPrompt;
import io.infermesh.core.lifecycle.ModelHost;
import io.infermesh.core.lifecycle.ModelRunner;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.schedule.GenerationRequest;
import io.infermesh.core.status.CoreException;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.Optional;

/**
 * The built-in engine as an {@link InferenceBackend}: the model {@link ModelHost} serves now, its
 * batch loop for generations (tokenized here, max_tokens checked against the prompt's real length,
 * grammar constraints for response_format and tools) and its final hidden state for embeddings. A
 * call holds the model ({@link ModelHost#acquire()}) from {@link #prepare} until it ends, so a
 * hot swap drains it. Thread-safe.
 */
final class BuiltInBackend implements InferenceBackend {
  private final ModelHost host;
  private final String modelName;
  /** Grammar constraints per loaded model's vocabulary (dropped with the model's tokenizer). */
  private final Cache<Tokenizer, Constraints> constraints = Caffeine.newBuilder().weakKeys().build();

  /** {@code modelName}: the name the host's models are loaded under ({@code model.name}). */
  BuiltInBackend(ModelHost host, String modelName) {
    this.host = requireNonNull(host, "host");
    this.modelName = requireNonNull(modelName, "modelName");
  }

  @Override
  public String modelName() {
    return modelName;
  }

  @Override
  public Optional<Listing> listing() {
    return host.current().map(m -> new Listing(ref(m), m.contextLength(), true));
  }

  @Override
  public Generation prepare(GenerateCall call) {
    ServedModel model = host.acquire();
    try {
      if (!model.loop().available()) {
        throw CoreException.unavailable("a pipeline stage of the model is unreachable; retry elsewhere");
      }
      return new BatchGeneration(model, call.key(), request(call, model), call.request().getSampling().getStopList());
    } catch (RuntimeException e) {
      model.release();
      throw e;
    }
  }

  /** {@code call} as the scheduler takes it: tokenized, with sampling and max_tokens for {@code model}. */
  private GenerationRequest request(GenerateCall call, ServedModel model) {
    GenerateRequest r = call.request();
    SamplingParams sampling = RequestValidator.sampling(r.getSampling(), model.config().vocabSize());
    if (sampling.logprobs() && !model.reportsLogprobs()) {
      throw CoreException.invalidArgument("sampling.logprobs",
          "is not supported by a pipelined model (its last stage returns token ids only)");
    }
    int[] prompt = switch (r.getInputCase()) {
      case CHAT -> model.tokenizer().encode(ChatPrompt.render(model.chatTemplate(), r.getChat().getMessagesList()),
          true, true);
      default -> model.tokenizer().encode(r.getPrompt(), true, false);
    };
    if (prompt.length == 0) {
      throw CoreException.invalidArgument("prompt", "tokenizes to nothing");
    }
    int maxTokens = RequestValidator.maxTokens(r.getSampling(), prompt.length, model.contextLength(),
        model.defaultMaxTokens());
    return new GenerationRequest(call.key(), prompt, maxTokens, call.priority(), constrain(r, model, sampling, maxTokens),
        model.tokenizer().endOfGenerationTokens(), call.deadlineNanos()).withChoices(call.choices());
  }

  /** {@code sampling} restricted to the grammar the request asks for (response_format, tools), if any. */
  private SamplingParams constrain(GenerateRequest request, ServedModel model, SamplingParams sampling, int maxTokens) {
    Optional<Grammar> grammar = RequestGrammar.of(request);
    if (grammar.isEmpty()) {
      return sampling;
    }
    if (!(model.runner() instanceof ModelRunner)) {
      throw CoreException.invalidArgument(request.hasResponseFormat() ? "response_format" : "tool_calling",
          "constrained decoding needs the whole model on one node; this one is split into pipeline stages");
    }
    return sampling.withConstraint(constraints.get(model.tokenizer(), Constraints::of).factory(grammar.get(), maxTokens));
  }

  @Override
  public Embeddings embed(EmbedRequest request) {
    ServedModel model = host.acquire();
    try {
      if (!model.embeds()) {
        throw Status.UNIMPLEMENTED.withDescription("embeddings need the whole model on one node; this node"
            + " serves a pipelined model").asRuntimeException();
      }
      return EmbedHandler.embed(request.getInputList(), model, ref(model));
    } finally {
      model.release();
    }
  }

  private static ModelRef ref(ServedModel model) {
    return new ModelRef(model.name(), model.version());
  }
}
