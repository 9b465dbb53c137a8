package io.infermesh.edge.admin;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import java.util.List;
import java.util.function.BooleanSupplier;

/** An engine reporting the operator's version label instead of its digest prefix. Thread-safe as the engine. */
final class LabelledEngine implements Engine {
  private final Engine engine;
  private final ModelInfo info;

  LabelledEngine(Engine engine, String version) {
    this.engine = requireNonNull(engine, "engine");
    ModelInfo i = engine.info();
    this.info = new ModelInfo(i.name(), version, i.sha256(), i.contextSize(), i.parallel(), i.chatTemplate());
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Prompt renderChat(List<ChatMessage> messages) {
    return engine.renderChat(messages);
  }

  @Override
  public Prompt rawPrompt(String text) {
    return engine.rawPrompt(text);
  }

  @Override
  public int vocabSize() {
    return engine.vocabSize();
  }

  @Override
  public int[] tokenize(String text) {
    return engine.tokenize(text);
  }

  @Override
  public Generation start(Prompt prompt, SamplingParams sampling, BooleanSupplier cancelled) {
    return engine.start(prompt, sampling, cancelled);
  }

  @Override
  public void close() {
    engine.close();
  }
}
