package io.infermesh.core.shard;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.api.v1.StageReply;
import io.infermesh.api.v1.StageRequest;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * {@code infermesh.v1.Shard} on a stage with index ≥ 1: each {@code Forward} stream becomes a
 * {@link StageSession} that runs this node's layers on the steps it receives, on one worker thread
 * shared by every stream (the engine is confined to it), and either samples (last stage) or passes
 * the hidden states on to the next stage and relays the answers back. Thread-safe.
 */
public final class ShardService extends ShardGrpc.ShardImplBase {
  private final StageVersions model;
  private final Executor worker;
  private final String selfId;
  private final NextStage next;
  private final Consumer<Boolean> downstreamHealthy;

  /**
   * @param model the versions of this stage's layers; each stream binds to the one its hello names
   *     (none loaded yet: hellos are refused as UNAVAILABLE)
   * @param worker a single thread with a bounded queue; steps of every stream run on it in order
   * @param selfId this node's SPIFFE ID, reported in ready replies
   * @param next the next stage, or null on the last stage
   * @param downstreamHealthy hears whether the last attempt to reach the next stage worked (never
   *     called on the last stage)
   */
  public ShardService(StageVersions model, Executor worker, String selfId, NextStage next,
      Consumer<Boolean> downstreamHealthy) {
    this.model = Objects.requireNonNull(model, "model");
    this.worker = Objects.requireNonNull(worker, "worker");
    this.selfId = Objects.requireNonNull(selfId, "selfId");
    this.next = next;
    this.downstreamHealthy = Objects.requireNonNull(downstreamHealthy, "downstreamHealthy");
  }

  @Override
  public StreamObserver<StageRequest> forward(StreamObserver<StageReply> responses) {
    ServerCallStreamObserver<StageReply> out = (ServerCallStreamObserver<StageReply>) responses;
    StageSession session = new StageSession(model, worker, selfId, next, downstreamHealthy, out);
    out.setOnCancelHandler(session::cancelled);
    return session;
  }
}
