package io.infermesh.edge.calibrate;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.LocalAnswerTap;
import io.infermesh.edge.serve.StreamEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shadow escalation: a sampled share of the answers the edge gave on its own ({@link
 * LocalAnswerTap}) is also sent to the core, at {@code low} priority, and the two answers become a
 * labelled example for the {@link OnlineCalibration}. The client never waits for it: {@link
 * #answered} only queues (a bounded queue, a fixed number of workers); a full queue drops the
 * example and counts it ({@code infermesh.calibration.shadow{result="dropped"}}). A shadow is not
 * charged to the client's tenant: it goes to the core as tenant {@value #TENANT}, the mesh's own.
 *
 * <p>Thread-safe. {@link #close()} stops the workers (queued shadows are dropped); close it before
 * the embedder the calibration uses.
 */
public final class ShadowEscalation implements LocalAnswerTap, AutoCloseable {
  /** The tenant shadows are sent (and charged) as. */
  public static final String TENANT = "infermesh-calibration";
  /** The routing reason shadows reach the core with. */
  public static final String REASON = "calibration-shadow";

  private static final Logger log = LoggerFactory.getLogger(ShadowEscalation.class);
  private static final Tenant MESH = new Tenant(TENANT, 0, 0);

  private final Escalator core;
  private final OnlineCalibration calibration;
  private final double fraction;
  private final Duration timeout;
  private final DoubleSupplier random;
  private final ThreadPoolExecutor workers;
  private final Counter sent;
  private final Counter dropped;
  private final Counter failed;
  private final Counter agreed;
  private final Counter disagreed;

  private ShadowEscalation(Escalator core, OnlineCalibration calibration, Settings settings, DoubleSupplier random,
      MeterRegistry registry) {
    this.core = core;
    this.calibration = calibration;
    this.fraction = settings.fraction();
    this.timeout = settings.timeout();
    this.random = random;
    this.workers = new ThreadPoolExecutor(settings.concurrency(), settings.concurrency(), 0, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(settings.queue()), r -> {
          Thread t = new Thread(r, "infermesh-calibration-shadow");
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.AbortPolicy());
    String name = "infermesh.calibration.shadow";
    String help = "Shadow escalations of local answers, by result";
    this.sent = Counter.builder(name).tag("result", "queued").description(help).register(registry);
    this.dropped = Counter.builder(name).tag("result", "dropped").description(help).register(registry);
    this.failed = Counter.builder(name).tag("result", "failed").description(help).register(registry);
    this.agreed = Counter.builder(name).tag("result", "agreed").description(help).register(registry);
    this.disagreed = Counter.builder(name).tag("result", "disagreed").description(help).register(registry);
    Gauge.builder("infermesh.calibration.examples", calibration, c -> c.state().examples())
        .description("Labelled examples the learned router has learned (across restarts)").register(registry);
    Gauge.builder("infermesh.calibration.threshold", calibration, OnlineCalibration::value)
        .description("The learned router's current difficulty threshold").register(registry);
    Gauge.builder("infermesh.calibration.agreement", calibration, c -> c.state().agreementRate())
        .description("Share of shadowed local answers the core agreed with").register(registry);
    Gauge.builder("infermesh.calibration.escalation.rate", calibration, c -> c.state().escalationRate())
        .description("Share of scored requests escalated for difficulty").register(registry);
  }

  /**
   * Starts the workers.
   *
   * @param random uniform in {@code [0, 1)}: a local answer is shadowed when it draws below the fraction
   */
  public static ShadowEscalation start(Escalator core, OnlineCalibration calibration, Settings settings,
      DoubleSupplier random, MeterRegistry registry) {
    return new ShadowEscalation(requireNonNull(core, "core"), requireNonNull(calibration, "calibration"),
        requireNonNull(settings, "settings"), requireNonNull(random, "random"), requireNonNull(registry, "registry"));
  }

  /** The calibration the shadows teach. */
  public OnlineCalibration calibration() {
    return calibration;
  }

  @Override
  public boolean sample() {
    return random.getAsDouble() < fraction;
  }

  @Override
  public void answered(LocalAnswer answer) {
    try {
      workers.execute(() -> shadow(answer));
      sent.increment();
    } catch (RejectedExecutionException e) {
      dropped.increment();
    }
  }

  private void shadow(LocalAnswer answer) {
    Optional<String> coreAnswer = askCore(answer);
    if (coreAnswer.isEmpty()) {
      failed.increment();
      return;
    }
    try {
      boolean agrees = calibration.learn(answer.promptText(), answer.answer(), coreAnswer.get());
      (agrees ? agreed : disagreed).increment();
    } catch (IOException e) {
      log.warn("calibration: cannot save the learned router: {}", e.getMessage());
    } catch (RuntimeException e) {
      log.warn("calibration: cannot learn from request {}: {}", answer.requestId(), e.toString());
    }
  }

  /** The core's answer to the same request, at low priority; empty when the core failed. */
  private Optional<String> askCore(LocalAnswer answer) {
    Escalator.Call call = new Escalator.Call("shadow-" + answer.requestId(),
        answer.request().withHints(Map.of("priority", "low"), Optional.of(timeout)), MESH,
        new RouteDecision(Route.CORE, REASON), answer.sampling(), timeout, null);
    StringBuilder text = new StringBuilder();
    try (CompletionStream stream = core.escalate(call)) {
      while (true) {
        StreamEvent event = stream.next();
        if (event instanceof StreamEvent.Delta delta) {
          text.append(delta.text());
        } else if (event instanceof StreamEvent.Done) {
          return Optional.of(text.toString());
        } else if (event instanceof StreamEvent.Failed f) {
          log.debug("calibration: shadow of {} failed: {}", answer.requestId(), f.error().getMessage());
          return Optional.empty();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } catch (RuntimeException e) {
      log.debug("calibration: shadow of {} failed: {}", answer.requestId(), e.toString());
      return Optional.empty();
    }
  }

  /** Stops the workers, interrupting shadows in flight, and waits up to 5 s for them to end. */
  @Override
  public void close() {
    workers.shutdownNow();
    try {
      if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
        log.warn("calibration: shadow workers did not stop within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * How shadows are sent.
   *
   * @param fraction the share of eligible local answers shadowed, in {@code [0, 1]}
   * @param concurrency shadows in flight at once
   * @param queue shadows waiting; more are dropped
   * @param timeout the deadline of each shadow call
   */
  public record Settings(double fraction, int concurrency, int queue, Duration timeout) {
    public Settings {
      if (!(fraction >= 0 && fraction <= 1)) {
        throw new IllegalArgumentException("fraction must be in [0, 1], got " + fraction);
      }
      if (concurrency < 1 || queue < 1) {
        throw new IllegalArgumentException("concurrency and queue must be at least 1, got " + concurrency + " and "
            + queue);
      }
      requireNonNull(timeout, "timeout");
    }
  }
}
