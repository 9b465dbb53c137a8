package io.infermesh.core.shard;

import ai.djl.Device;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.engine.GgufCheckpoint;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.engine.Sampler;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.server.StageNode;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real pipelines on loopback for the shard tests: one CA, the tiny core model, stage nodes started
 * last stage first (each a separate mTLS server on port 0), stage 0 as a {@link CoreNode}; plus
 * the unsplit engine and the tokenizer, for what the pipeline must reproduce.
 */
final class PipelineFixture implements AutoCloseable {
  final TestMesh mesh;
  final Path model;
  final Tokenizer tokenizer;
  private final LlamaModel whole;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final Map<String, List<StageNode>> laterStages = new HashMap<>(); // prefix -> stage 1..n-1

  PipelineFixture(String name) throws Exception {
    mesh = new TestMesh(name);
    model = TinyModels.write(TinyModelSpec.core(GgmlType.F32), mesh.root().resolve("models"));
    try (GgufCheckpoint cp = GgufCheckpoint.open(model)) {
      tokenizer = Tokenizer.fromGguf(cp.file().metadata());
      whole = LlamaModel.load(cp.config(), LayerRange.all(cp.config().layers()), cp, Device.cpu(), 1024);
    }
  }

  CoreConfig config(String name, int port, int stage, int stages, String next) throws Exception {
    mesh.issue(Role.CORE, name);
    return CoreConfig.builder(new CoreConfig.Node(name, "test-1"), new CoreConfig.Tls(mesh.root().resolve(name), name))
        .grpcPort(port)
        .model(CoreConfig.Model.builder("tiny-core").path(model).device("cpu").defaultMaxTokens(16).build())
        .scheduler(CoreConfig.Scheduling.builder().maxQueued(16).maxBatchSize(8).maxBatchTokens(256).prefillChunk(64)
            .build())
        .stage(new CoreConfig.Stage(stage, stages, next))
        .metricsPort(-1)
        .build();
  }

  /** Starts stage {@code index} of {@code stages} (index ≥ 1) with its layers loaded. */
  StageNode stage(String prefix, int index, int stages, String next, int port) throws Exception {
    StageNode node = StageNode.start(config(prefix + "-" + index, port, index, stages, next));
    closeables.add(node);
    node.loadConfiguredModel();
    laterStages.computeIfAbsent(prefix, k -> new ArrayList<>()).add(0, node);
    return node;
  }

  /** Starts a pipeline of {@code stages} nodes; returns stage 0 (loaded; its link may still be connecting). */
  CoreNode pipeline(String prefix, int stages) throws Exception {
    String next = "";
    for (int i = stages - 1; i >= 1; i--) {
      next = "localhost:" + stage(prefix, i, stages, next, 0).port();
    }
    CoreNode first = CoreNode.start(config(prefix + "-0", 0, 0, stages, next));
    closeables.add(first);
    first.loadConfiguredModel();
    return first;
  }

  /** The later stages of pipeline {@code prefix}, stage 1 first. */
  List<StageNode> stageNodes(String prefix) {
    return laterStages.get(prefix);
  }

  ManagedChannel channel(Role role, String name, int port) throws Exception {
    return mesh.channel(role, name, port);
  }

  ServingStatus health(ManagedChannel ch, String service) {
    return TestMesh.health(ch, service);
  }

  static GenerateRequest greedy(String id, String prompt, int maxTokens) {
    return GenerateRequest.newBuilder().setRequestId(id).setPrompt(prompt)
        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(0f)).build();
  }

  static List<Integer> tokens(Iterator<GenerateChunk> chunks) {
    List<Integer> out = new ArrayList<>();
    chunks.forEachRemaining(c -> out.addAll(c.getTokenIdsList()));
    return out;
  }

  /**
   * What the unsplit engine generates for {@code prompt}, as the Inference service tokenizes it,
   * up to {@code maxTokens} or the first end-of-generation token (not included, as in the stream).
   * {@code sampling} null is greedy.
   */
  synchronized List<Integer> unsplit(String prompt, int maxTokens, io.infermesh.core.engine.SamplingParams sampling) {
    Sampler sampler = new Sampler(sampling == null ? io.infermesh.core.engine.SamplingParams.GREEDY : sampling);
    int[] ids = tokenizer.encode(prompt, true, false);
    List<Integer> out = new ArrayList<>();
    float[] logits = whole.forward(ForwardBatch.contiguous(ids, 0))[0];
    int pos = ids.length;
    for (int i = 0; i < maxTokens; i++) {
      int next = sampler.sample(logits);
      if (tokenizer.isEndOfGeneration(next)) {
        break;
      }
      out.add(next);
      logits = whole.forward(ForwardBatch.contiguous(new int[] {next}, pos++))[0];
    }
    return out;
  }

  static InferenceGrpc.InferenceBlockingStub blocking(ManagedChannel ch) {
    return InferenceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    mesh.close();
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    whole.close();
  }
}
