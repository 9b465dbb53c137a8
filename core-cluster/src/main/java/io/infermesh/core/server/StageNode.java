package io.infermesh.core.server;

import io.grpc.ServerInterceptors;
import io.infermesh.api.v1.AdminGrpc;
import io.infermesh.api.v1.PipelineSwapGrpc;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshServer;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.certs.RoleAuthorizationPolicy;
import io.infermesh.core.admin.StageAdminService;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.lifecycle.ModelSource;
import io.infermesh.core.lifecycle.StageModel;
import io.infermesh.core.lifecycle.WeightFiles;
import io.infermesh.core.shard.NextStage;
import io.infermesh.core.shard.PipelineSwapService;
import io.infermesh.core.shard.ShardService;
import io.infermesh.core.shard.StageVersions;
import io.infermesh.node.admin.Rotation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A later pipeline stage (index ≥ 1): the mTLS gRPC server with {@code Shard} and {@code
 * PipelineSwap} for role core only, {@code Admin} for operators (plus health and reflection), the
 * versions of this stage's layers ({@link StageVersions}: two while stage 0 swaps), one worker thread that runs them, and
 * for a middle stage the channel to the next one. Health reports NOT_SERVING until the layers are
 * loaded, and on a middle stage while the next stage could not be reached. Thread-safe.
 */
public final class StageNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StageNode.class);
  private static final String SHARD = ShardGrpc.SERVICE_NAME;
  /** Steps (and releases) waiting for the worker, over all streams. */
  private static final int WORKER_QUEUE = 1024;

  private final CoreConfig config;
  private final MeshTls tls;
  private final MeshServer server;
  private final StageVersions model;
  private final HealthReporter health;
  private final ThreadPoolExecutor worker;
  private final ScheduledExecutorService timers;
  private final NextStage next;

  private StageNode(CoreConfig config, MeshTls tls, MeshServer server, StageVersions model,
      HealthReporter health, ThreadPoolExecutor worker, ScheduledExecutorService timers, NextStage next) {
    this.config = config;
    this.tls = tls;
    this.server = server;
    this.model = model;
    this.health = health;
    this.worker = worker;
    this.timers = timers;
    this.next = next;
  }

  /**
   * The authorization of a stage node: {@code Shard} and {@code PipelineSwap} for other core nodes
   * only, {@code Admin} for operators only.
   */
  public static RoleAuthorizationPolicy policy() {
    return RoleAuthorizationPolicy.builder()
        .allow(SHARD, Role.CORE)
        .allow(PipelineSwapGrpc.SERVICE_NAME, Role.CORE)
        .allow(AdminGrpc.SERVICE_NAME, Role.OPERATOR)
        .build();
  }

  /**
   * Starts the server (NOT_SERVING); call {@link #loadConfiguredModel} next.
   *
   * @throws IOException if the credentials are unusable or the port cannot be bound
   * @throws IllegalArgumentException if {@code config} is not a later stage
   */
  public static StageNode start(CoreConfig config) throws IOException {
    CoreConfig.Stage stage = config.stage();
    if (stage.index() == 0) {
      throw new IllegalArgumentException("stage 0 runs as a CoreNode (it serves Inference), not a StageNode");
    }
    MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(config.tls().dir(), config.tls().name())).build();
    ThreadPoolExecutor worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(WORKER_QUEUE), r -> daemon(r, "core-stage-" + stage.index() + "-worker"));
    ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(
        r -> daemon(r, "core-stage-" + stage.index() + "-timers"));
    boolean last = stage.index() == stage.count() - 1;
    NextStage next = last ? null : NextStage.connect(stage.next(), tls, timers, NextStage.Settings.defaults());
    AtomicBoolean downstream = new AtomicBoolean(true);
    HealthReporter health = new HealthReporter(SHARD);
    StageVersions model = new StageVersions(timers, worker, health::update);
    Rotation rotation = new Rotation(health::update);
    health.readyWhen(() -> !rotation.drained() && model.current().isPresent() && downstream.get());
    String self = tls.identity().toString();
    Path configured = config.model().path();
    Path modelDir = configured == null ? null : configured.toAbsolutePath().getParent();
    MeshServer server;
    try {
      ShardService shard = new ShardService(model, worker, self, next, ok -> {
        downstream.set(ok);
        health.update();
      });
      server = MeshServer.builder(config.grpcPort())
          .bindAddress(config.listen().grpc())
          .tls(tls)
          .authorization(policy())
          .initiallyNotServing() // until health.attach() finds the node ready
          .shutdownGrace(Duration.ofMillis(500)) // a pipeline stream never ends by itself
          .addService(ServerInterceptors.intercept(shard,
              rotation.gate(Set.of(ShardGrpc.getForwardMethod().getFullMethodName()))))
          .addService(new PipelineSwapService(model, path -> loadLayers(config, path, ""), self, stage.index(), next,
              modelDir))
          .addService(new StageAdminService(model, rotation, health::ready, self, stage.index()))
          .start();
    } catch (IOException | RuntimeException e) {
      if (next != null) {
        next.close();
      }
      worker.shutdownNow();
      timers.shutdownNow();
      tls.close();
      throw e;
    }
    health.attach(server);
    log.info("pipeline stage {} of {} up: gRPC {} (NOT_SERVING until its layers load){}", stage.index(),
        stage.count(), server.port(), last ? "" : ", next stage " + stage.next());
    return new StageNode(config, tls, server, model, health, worker, timers, next);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /**
   * Loads this stage's layers of the configured model; health turns SERVING.
   *
   * @throws IOException with a one-line reason if the model cannot be loaded
   */
  public StageModel loadConfiguredModel() throws IOException {
    CoreConfig.Model mc = config.model();
    if (mc.path() == null) {
      throw new IOException("model.path: not set (a GGUF file or a Hugging Face checkpoint directory)");
    }
    return loadModel(mc.path(), mc.sha256());
  }

  /**
   * Loads this stage's layers of the model at {@code path} at start-up; later versions arrive
   * through {@code PipelineSwap} from stage 0.
   *
   * @throws IllegalStateException if the stage already serves a model
   */
  public StageModel loadModel(Path path, String sha256) throws IOException {
    CoreConfig.Stage stage = config.stage();
    if (model.current().isPresent()) {
      throw new IllegalStateException("stage " + stage.index() + " already serves a model; swap it from stage 0");
    }
    StageModel m = loadLayers(config, path, sha256);
    Map<String, String> digests = Files.isRegularFile(path) ? Map.of(path.getFileName().toString(), m.sha256())
        : WeightFiles.digests(path);
    String version = config.model().version();
    model.prepare(m, version.isEmpty() ? "sha256:" + m.sha256().substring(0, 12) : version,
        new ModelSource(path, Map.of(), version), digests);
    model.commit(m.sha256(), Duration.ZERO);
    log.info("stage {} of {} serving layers [{}, {}) of {} on {}", stage.index(), stage.count(), m.layers().from(),
        m.layers().to(), m.name(), m.device());
    return m;
  }

  private static StageModel loadLayers(CoreConfig config, Path path, String sha256) throws IOException {
    CoreConfig.Stage stage = config.stage();
    Engine.BuiltIn engine = config.engine() instanceof Engine.BuiltIn b ? b : Engine.builtin();
    DjlRuntime.threads(engine.threads()); // 0: one per core
    return StageModel.load(config.model().name(), path, sha256, config.model().device(), engine.dtype(), stage.index(),
        stage.count(), CoreNode.limits(config.scheduler()));
  }

  public int port() {
    return server.port();
  }

  public MeshServer server() {
    return server;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops serving: streams in flight fail (their requests fail UNAVAILABLE at stage 0), then frees the layers. */
  @Override
  public void close() {
    server.close();
    if (next != null) {
      next.close();
    }
    worker.shutdownNow();
    try {
      worker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timers.shutdownNow();
    model.close();
    tls.close();
  }
}
