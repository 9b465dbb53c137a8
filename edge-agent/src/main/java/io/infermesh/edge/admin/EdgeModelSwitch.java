package io.infermesh.edge.admin;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.LlamaEngine;
import io.infermesh.edge.engine.ModelDigest;
import io.infermesh.edge.swap.EngineVersions;
import io.infermesh.edge.upstream.UpstreamEngine;
import io.infermesh.node.admin.SwapOrder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Swaps and rolls back the edge's GGUF model, one swap at a time. A swap checks the file against
 * the operator's digest, loads it beside the serving engine and only then switches new requests to
 * it ({@link EngineVersions#swap}); the old one drains. A rollback reactivates the previous version
 * while it still drains, else reloads its file and checks it against the digest recorded when it
 * served. At most two engines are loaded: a swap while one drains is ABORTED.
 *
 * <p>Each load runs on a fresh platform thread that exits when it is done ({@link LlamaEngine#load}
 * sees to it): llama.cpp's OpenMP runtime keeps a thread team per thread that ran model code, and a
 * long-lived loader thread keeps its team beside the decode threads (halving decode speed on a
 * small machine).
 *
 * <p>Thread-safe: swaps are serialized by a lock a second caller does not wait for (ABORTED).
 */
public final class EdgeModelSwitch {
  private final EngineVersions versions;
  private final EdgeConfig.Model model;
  private final int cores;
  private final ReentrantLock swapping = new ReentrantLock();

  /** {@code model}: the configured model section (name, context, slots, threads) new versions load with. */
  public EdgeModelSwitch(EngineVersions versions, EdgeConfig.Model model, int cores) {
    this.versions = requireNonNull(versions, "versions");
    this.model = requireNonNull(model, "model");
    this.cores = cores;
  }

  /** The directory a relative path in a swap resolves against (that of {@code model.path}), or null. */
  public Path modelDirectory() {
    return model.path() == null ? null : model.path().toAbsolutePath().getParent();
  }

  /** Verifies, loads and swaps to {@code order}; returns the new serving version and the replaced one. */
  public Swapped load(SwapOrder order) {
    lock();
    try {
      refuseWhileDraining();
      if (versions.current().filter(UpstreamEngine.class::isInstance).isPresent()) {
        throw status(Status.FAILED_PRECONDITION, "this edge's local tier is an upstream server (engine.type: upstream):"
            + " swap the model on that server");
      }
      Path file = order.path();
      if (Files.isDirectory(file)) {
        throw status(Status.FAILED_PRECONDITION, file + " is a directory: an edge agent serves one GGUF file");
      }
      if (!Files.isRegularFile(file)) {
        throw status(Status.NOT_FOUND, file + ": no such model file");
      }
      String name = file.getFileName().toString();
      for (String key : order.sha256().keySet()) {
        if (!key.equals(name)) {
          throw status(Status.INVALID_ARGUMENT, "sha256[" + shown(key) + "]: names no weight file of " + file
              + " (its weight file: " + name + ")");
        }
      }
      String sha = verify(file, order.sha256().get(name));
      return swapTo(file, sha, order.version(), order.drain());
    } finally {
      swapping.unlock();
    }
  }

  /** Swaps back to the previous version: reactivated while it drains, else reloaded and re-verified. */
  public Swapped rollback(Duration drain) {
    lock();
    try {
      EngineVersions.Unloaded previous = versions.previous().orElseThrow(() -> status(Status.FAILED_PRECONDITION,
          "no previous version to roll back to"));
      Optional<EngineVersions.Listed> replaced = versions.reactivatePrevious(drain);
      if (replaced.isPresent()) {
        return new Swapped(versions.list().get(0), replaced);
      }
      refuseWhileDraining();
      String sha = verify(previous.path(), previous.fileSha256());
      return swapTo(previous.path(), sha, previous.version(), drain);
    } finally {
      swapping.unlock();
    }
  }

  /** What a swap did: the version now serving, and the one it replaced (draining or already unloaded). */
  public record Swapped(EngineVersions.Listed serving, Optional<EngineVersions.Listed> replaced) {}

  private Swapped swapTo(Path file, String sha, String version, Duration drain) {
    Engine loaded = load(model.toBuilder().path(file).name(model.effectiveName()).sha256(sha).build());
    Engine engine = version.isEmpty() || version.equals(loaded.info().version()) ? loaded
        : new LabelledEngine(loaded, version);
    Optional<EngineVersions.Listed> replaced;
    try {
      replaced = versions.swap(new EngineVersions.Source(engine, file, sha, true), drain);
    } catch (IllegalStateException e) { // cannot happen under the lock; never leak a third engine
      engine.close();
      throw status(Status.ABORTED, e.getMessage());
    }
    return new Swapped(versions.list().get(0), replaced);
  }

  /** Loads {@code config}; llama.cpp loads on a short-lived thread of its own (see the class comment). */
  private Engine load(EdgeConfig.Model config) {
    try {
      return LlamaEngine.load(config, cores);
    } catch (IOException | RuntimeException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw status(Status.CANCELLED, "interrupted while loading " + config.path());
      }
      throw status(Status.FAILED_PRECONDITION, "cannot load " + config.path() + ": " + e.getMessage()
          + "; nothing was swapped");
    }
  }

  private static String verify(Path file, String expected) {
    String actual;
    try {
      actual = ModelDigest.sha256(file);
    } catch (IOException e) {
      throw status(Status.FAILED_PRECONDITION, file + ": cannot be read: " + e.getMessage());
    }
    if (!actual.equalsIgnoreCase(expected)) {
      throw status(Status.FAILED_PRECONDITION, file + ": sha256 is " + actual + " but " + expected
          + " was expected (corrupt or wrong file?); nothing was loaded");
    }
    return actual;
  }

  private void lock() {
    if (!swapping.tryLock()) {
      throw status(Status.ABORTED, "another swap is in progress on this edge; retry later");
    }
  }

  private void refuseWhileDraining() {
    versions.draining().ifPresent(d -> {
      throw status(Status.ABORTED, "version " + d.version() + " still drains " + d.inFlight()
          + " requests; retry once it unloads (an edge holds at most two versions)");
    });
  }

  private static String shown(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }

  private static StatusRuntimeException status(Status status, String description) {
    return status.withDescription(description).asRuntimeException();
  }
}
