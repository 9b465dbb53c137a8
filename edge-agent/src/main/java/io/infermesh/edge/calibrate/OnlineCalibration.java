package io.infermesh.edge.calibrate;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.infermesh.edge.route.DifficultyScorer;
import io.infermesh.edge.route.Embedder;
import io.infermesh.edge.route.RouteRequest;
import io.infermesh.edge.route.Threshold;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * The router's self-calibrating difficulty: a {@link DifficultyScorer} that is an {@link
 * OnlineLogisticRegression} over the edge model's prompt embeddings, and the {@link Threshold} it is
 * compared with. Each shadow comparison ({@link #learn(String, String, String)}) is one labelled
 * example: the prompt's embedding, labelled positive ("should have escalated") when the core's
 * answer and the edge's disagree ({@link WordEditSimilarity} below {@code agreementThreshold}). The
 * model takes one SGD step per example and is written to its state file after each (atomically:
 * a temporary file moved over the old one), so a restart resumes where it stopped.
 *
 * <p>The threshold follows the {@link CalibrationTarget} ({@link LogitThreshold}): for {@code
 * escalation_rate} it is steered by every routing decision, for {@code agreement} by every shadow
 * comparison.
 *
 * <p>Thread-safe: {@link #score} and {@link #escalate} run on request threads, {@link #learn} on the
 * shadow workers; the model holds its own lock, counters are atomic, and saving is serialized.
 */
public final class OnlineCalibration implements DifficultyScorer, Threshold {
  private static final long RECENT_BYTES = 8 << 20;

  private final Embedder embedder;
  private final Settings settings;
  private final OnlineLogisticRegression model;
  private final LogitThreshold threshold;
  private final AtomicLong decisions = new AtomicLong();
  private final AtomicLong escalations = new AtomicLong();
  private final AtomicLong agreed = new AtomicLong();
  private final AtomicLong compared = new AtomicLong();
  private final DoubleAdder similaritySum = new DoubleAdder();
  private final Object saving = new Object();
  // the prompts the router scored lately, so that learning from their shadows embeds nothing again
  // (the edge model's embedding context is one, shared with the request path)
  private final Cache<String, float[]> recent = Caffeine.newBuilder()
      .maximumWeight(RECENT_BYTES)
      .weigher((String text, float[] v) -> 2 * text.length() + 4 * v.length)
      .build();

  private OnlineCalibration(Embedder embedder, Settings settings, OnlineLogisticRegression model) {
    this.embedder = embedder;
    this.settings = settings;
    this.model = model;
    CalibrationTarget target = settings.target();
    this.threshold = target instanceof CalibrationTarget.Agreement
        ? LogitThreshold.forAgreement(target.value(), settings.step(), settings.initialThreshold())
        : LogitThreshold.forEscalationRate(target.value(), settings.step(), settings.initialThreshold());
  }

  /**
   * A calibration over {@code embedder}'s vectors: resumed from {@code settings.stateFile()} when it
   * exists, else fresh (every score 0.5 until it learns).
   *
   * @throws IOException when the state file exists but cannot be read or does not fit the embedder
   */
  public static OnlineCalibration open(Embedder embedder, Settings settings) throws IOException {
    requireNonNull(embedder, "embedder");
    requireNonNull(settings, "settings");
    int dims = embedder.embed(" ").length;
    OnlineLogisticRegression model;
    Optional<Path> file = settings.stateFile();
    if (file.isPresent() && Files.exists(file.get())) {
      try (InputStream in = new BufferedInputStream(Files.newInputStream(file.get()))) {
        model = OnlineLogisticRegression.readFrom(in, dims, settings.learningRate(), settings.l2());
      } catch (IOException e) {
        throw new IOException(file.get() + ": " + e.getMessage(), e);
      }
    } else {
      model = new OnlineLogisticRegression(dims, settings.learningRate(), settings.l2());
    }
    return new OnlineCalibration(embedder, settings, model);
  }

  @Override
  public double score(RouteRequest request) {
    return score(request.text());
  }

  /** The probability that the core would disagree with the edge on {@code prompt}. */
  public double score(String prompt) {
    float[] x = embedder.embed(prompt);
    recent.put(prompt, x);
    return model.probability(x);
  }

  @Override
  public boolean escalate(double score) {
    boolean up = threshold.escalate(score);
    decisions.incrementAndGet();
    if (up) {
      escalations.incrementAndGet();
    }
    return up;
  }

  @Override
  public double value() {
    return threshold.value();
  }

  /**
   * One shadow comparison: the edge answered {@code prompt} with {@code localAnswer}, the core with
   * {@code coreAnswer}. Learns from it and saves the model.
   *
   * @return whether they agreed
   * @throws IOException when the state file cannot be written (the example is learned all the same)
   */
  public boolean learn(String prompt, String localAnswer, String coreAnswer) throws IOException {
    double similarity = WordEditSimilarity.similarity(localAnswer, coreAnswer);
    boolean agrees = similarity >= settings.agreementThreshold();
    similaritySum.add(similarity);
    compared.incrementAndGet();
    if (agrees) {
      agreed.incrementAndGet();
    }
    threshold.observe(agrees);
    learn(prompt, !agrees);
    return agrees;
  }

  /**
   * One labelled example: {@code shouldEscalate} when the core's answer to {@code prompt} differs from
   * the edge's. Saves the model when a state file is set.
   *
   * @throws IOException when the state file cannot be written (the example is learned all the same)
   */
  public void learn(String prompt, boolean shouldEscalate) throws IOException {
    float[] x = recent.getIfPresent(prompt);
    model.learn(x != null ? x : embedder.embed(prompt), shouldEscalate);
    save();
  }

  /** Writes the model to the state file, atomically; nothing without one. */
  public void save() throws IOException {
    if (settings.stateFile().isEmpty()) {
      return;
    }
    Path file = settings.stateFile().get().toAbsolutePath();
    synchronized (saving) {
      Files.createDirectories(file.getParent());
      Path temp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
      try {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp))) {
          model.writeTo(out);
        }
        try {
          Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(temp);
      }
    }
  }

  /** What the calibration knows now. */
  public State state() {
    long n = compared.get();
    long d = decisions.get();
    return new State(settings.target().text(), model.examples(), threshold.value(), n,
        n == 0 ? Double.NaN : (double) agreed.get() / n, n == 0 ? Double.NaN : similaritySum.sum() / n, d,
        d == 0 ? Double.NaN : (double) escalations.get() / d);
  }

  @Override
  public String toString() {
    return "OnlineCalibration{target=" + settings.target().text() + ", threshold=" + threshold + "}";
  }

  /**
   * A snapshot of the calibration.
   *
   * @param target the config form of the target
   * @param examples labelled examples the model has learned, across restarts
   * @param threshold the current threshold
   * @param comparisons shadow comparisons since start
   * @param agreementRate the share of them where the core agreed with the edge (NaN before any)
   * @param meanSimilarity their mean {@link WordEditSimilarity} similarity (NaN before any)
   * @param decisions requests scored since start
   * @param escalationRate the share of them that escalated for difficulty (NaN before any)
   */
  public record State(String target, long examples, double threshold, long comparisons, double agreementRate,
      double meanSimilarity, long decisions, double escalationRate) {}

  /**
   * How the calibration learns.
   *
   * @param target what the threshold holds steady
   * @param agreementThreshold the {@link WordEditSimilarity} similarity at or above which two answers agree
   * @param learningRate the SGD step η
   * @param l2 the L2 decay λ
   * @param initialThreshold the threshold before it is calibrated
   * @param step how far one observation moves the threshold, in logit units ({@link LogitThreshold})
   * @param stateFile where the model is kept across restarts, or none (in memory only)
   */
  public record Settings(CalibrationTarget target, double agreementThreshold, double learningRate, double l2,
      double initialThreshold, double step, Optional<Path> stateFile) {
    public Settings {
      requireNonNull(target, "target");
      requireNonNull(stateFile, "stateFile");
    }
  }
}
