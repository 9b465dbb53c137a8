package io.infermesh.core.server;

import io.grpc.Context;
import io.infermesh.certs.MeshTls;
import io.infermesh.core.admin.ModelSwitch;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.engine.DjlRuntime;
import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.lifecycle.HostedVersion;
import io.infermesh.core.lifecycle.ModelSource;
import io.infermesh.core.lifecycle.Placement;
import io.infermesh.core.lifecycle.ServedModel;
import io.infermesh.core.lifecycle.WeightFiles;
import io.infermesh.core.schedule.StepRunner;
import io.infermesh.core.shard.NextStage;
import io.infermesh.core.shard.PipelineRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Loads model versions for a core node: the whole model, or stage 0's layers linked to
 * {@code stage.next}, in which case a version counts as loaded only once the rest of the pipeline
 * accepted its hello (so a swap never switches to a pipeline that cannot answer). Each version
 * gets its own batch-loop thread. Thread-safe (the node's swaps are serialized anyway).
 */
final class CoreModelLoader implements ModelSwitch.Loader {
  /** How long a new pipeline version may take to link up with the later stages. */
  private static final Duration PIPELINE_LINK = Duration.ofSeconds(60);

  private final CoreConfig config;
  private final MeshTls tls;
  private final ScheduledExecutorService timers;
  private final Runnable healthChanged;
  private final CoreMetrics metrics;
  private final AtomicInteger loads = new AtomicInteger();

  CoreModelLoader(CoreConfig config, MeshTls tls, ScheduledExecutorService timers, Runnable healthChanged,
      CoreMetrics metrics) {
    this.config = config;
    this.tls = tls;
    this.timers = timers;
    this.healthChanged = healthChanged;
    this.metrics = metrics;
  }

  /** A version an operator pinned: its digests were verified just before. */
  @Override
  public HostedVersion load(ModelSource source) throws IOException {
    return load(source.path(), "", source, true);
  }

  /**
   * Loads {@code path}, checking the digest of its main file against {@code sha256} (empty: no
   * check), and records {@code source}'s pins, or the digests computed here when it has none.
   * With {@code awaitLink} a pipeline version must link up first; without (a node starting, its
   * stages perhaps not yet up) health reports NOT_SERVING until it does.
   */
  HostedVersion load(Path path, String sha256, ModelSource source, boolean awaitLink) throws IOException {
    if (!(config.engine() instanceof Engine.BuiltIn engine)) {
      throw new IllegalStateException("engine.type is " + config.engine().type() + ": this node loads no model");
    }
    DjlRuntime.threads(engine.threads());
    CoreConfig.Model mc = config.model();
    int n = loads.incrementAndGet();
    CompletableFuture<Void> linked = new CompletableFuture<>();
    ServedModel model = ServedModel.load(mc.name(), path, sha256, source.version(), mc.device(), engine.dtype(),
        mc.defaultMaxTokens(), CoreNode.limits(config.scheduler()), placement(linked),
        r -> {
          Thread t = new Thread(r, "core-batch-loop-" + n);
          t.setDaemon(true);
          return t;
        },
        System::nanoTime,
        (plan, nanos) -> metrics.step(plan.entries().size(), nanos));
    try {
      if (awaitLink && config.stage().count() > 1) {
        awaitLink(linked, model);
      }
      Map<String, String> digests = !source.sha256().isEmpty() ? source.sha256()
          : Files.isRegularFile(path) ? Map.of(path.getFileName().toString(), model.sha256())
          : WeightFiles.digests(path);
      return new HostedVersion(model, source, digests);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  private void awaitLink(CompletableFuture<Void> linked, ServedModel model) throws IOException {
    long deadline = System.nanoTime() + PIPELINE_LINK.toNanos();
    try {
      linked.get(PIPELINE_LINK.toMillis(), TimeUnit.MILLISECONDS);
      // the ready callback may run before the runner stored its link: wait for what requests check
      while (!model.loop().available() && System.nanoTime() - deadline < 0) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      }
      if (!model.loop().available()) {
        throw new TimeoutException();
      }
    } catch (TimeoutException | ExecutionException e) {
      throw new IOException("the later pipeline stages did not accept version " + model.version() + " within "
          + PIPELINE_LINK.toSeconds() + " s (see their logs); nothing was swapped", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while linking version " + model.version() + " to the pipeline", e);
    }
  }

  /** The whole model, or stage 0 of a pipeline linked to {@code stage.next} ({@code linked} completes when it is). */
  private Placement placement(CompletableFuture<Void> linked) {
    CoreConfig.Stage stage = config.stage();
    if (stage.count() == 1) {
      return Placement.WHOLE;
    }
    return new Placement() {
      @Override
      public LayerRange layers(LlamaConfig c) {
        return LayerRange.stage(0, stage.count(), c.layers());
      }

      @Override
      public StepRunner runner(LlamaModel engine, Identity model) {
        NextStage next = NextStage.connect(stage.next(), tls, timers, NextStage.Settings.defaults());
        // the link outlives the call that loads it (an operator's LoadModel): never inherit its cancellation
        Context previous = Context.ROOT.attach();
        try {
          return PipelineRunner.start(engine, model, stage.count(), next, ready -> {
            if (ready) {
              linked.complete(null);
            }
            healthChanged.run();
          });
        } finally {
          Context.ROOT.detach(previous);
        }
      }
    };
  }
}
