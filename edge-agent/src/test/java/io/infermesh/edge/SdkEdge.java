package io.infermesh.edge;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.LlamaEngine;
import java.io.IOException;

/**
 * An edge agent on its own engine for {@code model} (one thread), on the tiny test config's free
 * ports, and an OpenAI SDK client to its HTTP API (no retries). Closing it closes all three.
 */
public final class SdkEdge implements AutoCloseable {
  private final LlamaEngine engine;
  private final EdgeAgent agent;
  private final OpenAIClient client;

  private SdkEdge(LlamaEngine engine, EdgeAgent agent, OpenAIClient client) {
    this.engine = engine;
    this.agent = agent;
    this.client = client;
  }

  public static SdkEdge start(EdgeConfig.Model model) throws IOException {
    LlamaEngine engine = LlamaEngine.load(model, 1);
    EdgeAgent agent = EdgeAgent.builder(TinyModel.config().withModel(model)).engine(engine).start();
    return new SdkEdge(engine, agent, client(agent, "unused"));
  }

  /** An OpenAI SDK client to {@code agent}'s HTTP API with {@code apiKey}, no retries; the caller closes it. */
  public static OpenAIClient client(EdgeAgent agent, String apiKey) {
    return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + agent.httpPort() + "/v1").apiKey(apiKey)
        .maxRetries(0).build();
  }

  public LlamaEngine engine() {
    return engine;
  }

  public OpenAIClient client() {
    return client;
  }

  @Override
  public void close() {
    client.close();
    agent.close();
    engine.close();
  }
}
