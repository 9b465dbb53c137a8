package io.infermesh.edge.calibrate;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Logistic regression learned one example at a time: {@code p = sigmoid(w · z + b)} over inputs
 * standardized by running per-dimension means and variances (Welford), each example one SGD step
 * on the log loss with L2 decay: {@code w ← w − η (p − y) z − η λ w}, {@code b ← b − η (p − y)}.
 * Standardizing online matters for small models' embeddings, whose dimensions differ in scale by
 * orders of magnitude; the statistics move slowly once many examples are seen, so the weights
 * stay meaningful.
 *
 * <p>Thread-safe: every method holds {@code this}; an update and a prediction never interleave.
 */
final class OnlineLogisticRegression {
  private static final int MAGIC = 0x494d4c52; // "IMLR"
  private static final int VERSION = 1;

  private final int dimensions;
  private final double learningRate;
  private final double l2;
  @GuardedBy("this")
  private final double[] mean; // (dims)
  @GuardedBy("this")
  private final double[] m2; // (dims) sum of squared deviations
  @GuardedBy("this")
  private final double[] weights; // (dims)
  @GuardedBy("this")
  private double bias;
  @GuardedBy("this")
  private long examples;

  OnlineLogisticRegression(int dimensions, double learningRate, double l2) {
    if (dimensions < 1) {
      throw new IllegalArgumentException("dimensions must be at least 1, got " + dimensions);
    }
    if (!(learningRate > 0)) {
      throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
    }
    if (!(l2 >= 0)) {
      throw new IllegalArgumentException("l2 must not be negative, got " + l2);
    }
    this.dimensions = dimensions;
    this.learningRate = learningRate;
    this.l2 = l2;
    this.mean = new double[dimensions];
    this.m2 = new double[dimensions];
    this.weights = new double[dimensions];
  }

  /** The input length. */
  int dimensions() {
    return dimensions;
  }

  /** Labelled examples learned so far. */
  synchronized long examples() {
    return examples;
  }

  /** The probability that {@code x} is positive (0.5 before any example). */
  synchronized double probability(float[] x) {
    checkLength(x);
    return sigmoid(logit(x));
  }

  /** One SGD step on {@code x} labelled {@code positive}; returns the probability it had before the step. */
  synchronized double learn(float[] x, boolean positive) {
    checkLength(x);
    examples++;
    for (int j = 0; j < mean.length; j++) { // Welford: the example joins the statistics first
      double delta = x[j] - mean[j];
      mean[j] += delta / examples;
      m2[j] += delta * (x[j] - mean[j]);
    }
    double before = sigmoid(logit(x));
    double err = before - (positive ? 1 : 0);
    for (int j = 0; j < weights.length; j++) {
      weights[j] -= learningRate * (err * standardized(x, j) + l2 * weights[j]);
    }
    bias -= learningRate * err;
    return before;
  }

  @GuardedBy("this")
  private double logit(float[] x) {
    double s = bias;
    for (int j = 0; j < weights.length; j++) {
      s += weights[j] * standardized(x, j);
    }
    return s;
  }

  @GuardedBy("this")
  private double standardized(float[] x, int j) {
    double variance = examples > 1 ? m2[j] / (examples - 1) : 0;
    return variance > 1e-12 ? (x[j] - mean[j]) / Math.sqrt(variance) : 0;
  }

  private void checkLength(float[] x) {
    if (x.length != dimensions) {
      throw new IllegalArgumentException("expected " + dimensions + " dimensions, got " + x.length);
    }
  }

  /** Writes the model (hyper-parameters are config, not state: they are not written). */
  synchronized void writeTo(OutputStream out) throws IOException {
    DataOutputStream data = new DataOutputStream(out);
    data.writeInt(MAGIC);
    data.writeInt(VERSION);
    data.writeInt(weights.length);
    data.writeLong(examples);
    data.writeDouble(bias);
    for (int j = 0; j < weights.length; j++) {
      data.writeDouble(mean[j]);
      data.writeDouble(m2[j]);
      data.writeDouble(weights[j]);
    }
    data.flush();
  }

  /**
   * Reads a model {@link #writeTo} wrote.
   *
   * @throws IOException when the bytes are not such a model or its length is not {@code dimensions}
   */
  static OnlineLogisticRegression readFrom(InputStream in, int dimensions, double learningRate, double l2)
      throws IOException {
    DataInputStream data = new DataInputStream(in);
    if (data.readInt() != MAGIC) {
      throw new IOException("not a calibration model (bad magic)");
    }
    int version = data.readInt();
    if (version != VERSION) {
      throw new IOException("calibration model version " + version + " is not supported (expected " + VERSION + ")");
    }
    int dims = data.readInt();
    if (dims != dimensions) {
      throw new IOException("the calibration model has " + dims + " dimensions but the edge model embeds in "
          + dimensions + " (was the model changed?)");
    }
    OnlineLogisticRegression model = new OnlineLogisticRegression(dims, learningRate, l2);
    synchronized (model) {
      model.examples = data.readLong();
      model.bias = data.readDouble();
      for (int j = 0; j < dims; j++) {
        model.mean[j] = data.readDouble();
        model.m2[j] = data.readDouble();
        model.weights[j] = data.readDouble();
      }
    }
    return model;
  }

  private static double sigmoid(double z) {
    return 1 / (1 + Math.exp(-z));
  }
}
