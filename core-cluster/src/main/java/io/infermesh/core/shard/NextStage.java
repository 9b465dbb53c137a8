package io.infermesh.core.shard;

import io.grpc.ManagedChannel;
import io.infermesh.api.v1.PipelineSwapGrpc;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.api.v1.StageHello;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The next pipeline stage as a place to open {@link NextStageLink}s to: one mTLS channel that
 * accepts only a server with role core, and the timeouts of the links. Thread-safe.
 */
public final class NextStage implements AutoCloseable {
  private final ManagedChannel channel;
  private final String target;
  private final ScheduledExecutorService timers;
  private final LongSupplier nanoTime;
  private final Settings settings;

  /**
   * Timeouts and back-off of a pipeline link.
   *
   * @param helloTimeout how long the rest of the pipeline may take to answer a hello
   * @param stepTimeout how long a step may go unanswered before the link is declared dead
   * @param reconnectMin first wait before stage 0 reconnects a broken link (doubling after each failure)
   * @param reconnectMax longest wait between reconnects
   */
  public record Settings(Duration helloTimeout, Duration stepTimeout, Duration reconnectMin, Duration reconnectMax) {
    public Settings {
      for (Duration d : new Duration[] {helloTimeout, stepTimeout, reconnectMin, reconnectMax}) {
        if (d == null || d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException("pipeline link timeouts must be positive, got " + d);
        }
      }
      if (reconnectMax.compareTo(reconnectMin) < 0) {
        throw new IllegalArgumentException("reconnectMax must not be below reconnectMin");
      }
    }

    public static Settings defaults() {
      return new Settings(Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofMillis(200), Duration.ofSeconds(5));
    }
  }

  NextStage(ManagedChannel channel, String target, ScheduledExecutorService timers, LongSupplier nanoTime,
      Settings settings) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.target = Objects.requireNonNull(target, "target");
    this.timers = Objects.requireNonNull(timers, "timers");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /**
   * The stage at {@code target} ({@code host:port}), reached over mutual TLS with {@code tls}; only a
   * server whose certificate says role core is accepted. {@code timers} runs link timeouts and
   * reconnects; the caller owns it.
   */
  public static NextStage connect(String target, MeshTls tls, ScheduledExecutorService timers, Settings settings) {
    return new NextStage(MeshChannels.newChannel(target, tls, ExpectedIdentity.roles(Role.CORE)), target, timers,
        System::nanoTime, settings);
  }

  String target() {
    return target;
  }

  Settings settings() {
    return settings;
  }

  ScheduledExecutorService timers() {
    return timers;
  }

  /** The next stage's swap coordination ({@code PipelineSwap}), over the same channel. */
  public PipelineSwapClient swaps() {
    return new PipelineSwapClient(PipelineSwapGrpc.newBlockingStub(channel), target);
  }

  /** Opens a new stream and says {@code hello}. */
  NextStageLink open(StageHello hello, NextStageLink.Listener listener) {
    return NextStageLink.open(ShardGrpc.newStub(channel), target, hello, listener, timers, nanoTime,
        settings.helloTimeout().toMillis(), settings.stepTimeout().toMillis());
  }

  /** Closes the channel at once (streams on it fail). */
  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
