package io.infermesh.core.admin;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.StagePrepareReply;
import io.infermesh.api.v1.StagePrepareRequest;
import io.infermesh.core.lifecycle.HostedVersion;
import io.infermesh.core.lifecycle.ModelHost;
import io.infermesh.core.lifecycle.ModelSource;
import io.infermesh.core.lifecycle.WeightFiles;
import io.infermesh.core.shard.PipelineSwapClient;
import io.infermesh.core.status.CoreException;
import io.infermesh.node.admin.SwapOrder;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Swaps and rolls back the model of a core node, one swap at a time. A swap verifies every weight
 * file against the operator's digests, loads the new version beside the serving one, and only
 * then switches new requests to it ({@link ModelHost#swap}); the old one drains. On a pipeline's
 * stage 0 the swap is two-phase: every later stage prepares (loads) the version first, stage 0
 * loads its own layers and waits until the new pipeline link answers, then all commit; a failure
 * anywhere aborts the prepared version on every stage, and the old one never stopped serving.
 *
 * <p>Rollback: the previous version is <em>not</em> kept loaded once it has drained, so a node
 * holds two versions only while a swap drains and its memory stays bounded by two models (a GPU
 * rarely has room for a third). While the previous version is still draining it is reactivated
 * in place, instantly; after that it is reloaded from the same path and checked against the
 * digests verified when it first loaded, so a file changed on disk since is refused.
 *
 * <p>Thread-safe: swaps are serialized by a lock that a second caller does not wait for (it gets
 * ABORTED).
 */
public final class ModelSwitch {
  private static final Logger log = LoggerFactory.getLogger(ModelSwitch.class);

  /** Loads a verified version, ready to serve (on a pipeline: its link to stage 1 answered). */
  @FunctionalInterface
  public interface Loader {
    HostedVersion load(ModelSource source) throws IOException;
  }

  /** What a swap did. */
  public record Swapped(HostedVersion serving, Optional<HostedVersion> replaced, List<String> stageIds) {}

  private final ModelHost host;
  private final Loader loader;
  private final PipelineSwapClient pipeline; // null unless stage 0 of a pipeline
  private final ReentrantLock swapping = new ReentrantLock();

  /** {@code pipeline}: the next stage's swap service on stage 0 of a pipeline, else null. */
  public ModelSwitch(ModelHost host, Loader loader, PipelineSwapClient pipeline) {
    this.host = requireNonNull(host, "host");
    this.loader = requireNonNull(loader, "loader");
    this.pipeline = pipeline;
  }

  /**
   * Verifies, loads and swaps to {@code order}.
   *
   * @throws CoreException ABORTED while another swap runs or drains; INVALID_ARGUMENT or
   *     FAILED_PRECONDITION from the digest check or the load; a pipeline stage's failure as it
   *     reported it
   */
  public Swapped load(SwapOrder order) {
    lock();
    try {
      refuseWhileDraining();
      WeightFiles.verify(order.path(), order.sha256());
      return swapTo(new ModelSource(order.path(), order.sha256(), order.version(), order.requested()), order.drain());
    } finally {
      swapping.unlock();
    }
  }

  /**
   * Swaps back to the previous version: reactivated if it is still loaded, else reloaded and
   * re-verified.
   *
   * @throws CoreException FAILED_PRECONDITION when there is no previous version
   */
  public Swapped rollback(Duration drain) {
    lock();
    try {
      HostedVersion previous = host.previous().orElseThrow(() -> CoreException.of(
          CoreException.Kind.FAILED_PRECONDITION, "no previous version to roll back to"));
      Optional<HostedVersion> replaced = host.reactivatePrevious(drain);
      if (replaced.isPresent()) {
        List<String> ids = pipeline == null ? List.of() : commit(previous.model().sha256(), drain);
        return new Swapped(host.serving().orElseThrow(), replaced, ids);
      }
      refuseWhileDraining();
      ModelSource source = previous.pinned();
      WeightFiles.verify(source.path(), source.sha256());
      return swapTo(source, drain);
    } finally {
      swapping.unlock();
    }
  }

  private void lock() {
    if (!swapping.tryLock()) {
      throw CoreException.of(CoreException.Kind.ABORTED, "another swap is in progress on this node; retry later");
    }
  }

  private void refuseWhileDraining() {
    host.draining().ifPresent(d -> {
      throw CoreException.of(CoreException.Kind.ABORTED, "version " + d.model().version() + " still drains "
          + d.model().inFlight() + " requests; retry once it unloads (a node holds at most two versions)");
    });
  }

  private Swapped swapTo(ModelSource source, Duration drain) {
    String sha = null;
    List<String> ids = List.of();
    if (pipeline != null) {
      StagePrepareReply r = pipeline.prepare(StagePrepareRequest.newBuilder().setPath(source.requested())
          .putAllSha256(source.sha256()).setVersion(source.version()).build());
      sha = r.getModelSha256();
      ids = r.getStageIdsList();
    }
    HostedVersion next;
    try {
      next = loader.load(source);
    } catch (IOException e) {
      abort(sha);
      throw CoreException.of(CoreException.Kind.FAILED_PRECONDITION, e.getMessage(), e);
    } catch (RuntimeException e) {
      abort(sha);
      throw e;
    }
    if (sha != null && !sha.equals(next.model().sha256())) { // the file changed between the stages' load and ours
      next.model().close();
      abort(sha);
      throw CoreException.of(CoreException.Kind.FAILED_PRECONDITION, source.path() + " changed while the stages"
          + " loaded it (their digest " + sha + ", stage 0's " + next.model().sha256() + "); nothing was swapped");
    }
    Optional<HostedVersion> replaced = host.swap(next, drain);
    if (sha != null) {
      ids = commit(sha, drain);
    }
    return new Swapped(next, replaced, ids);
  }

  /** Commits on the later stages; stage 0 switched already, so a failure is logged, not undone. */
  private List<String> commit(String sha, Duration drain) {
    try {
      return pipeline.commit(sha, drain.toMillis());
    } catch (CoreException e) {
      log.warn("stage 0 serves version {} but a later stage did not commit it ({}); it keeps both versions"
          + " loaded until it restarts or the next swap", sha, e.getMessage());
      return List.of();
    }
  }

  private void abort(String sha) {
    if (sha != null) {
      pipeline.abort(sha);
    }
  }
}
