package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.List;

/**
 * A binary logistic-regression classifier over dense vectors: {@code p = sigmoid(w · x + b)},
 * trained by full-batch gradient descent with L2 regularization on standardized inputs
 * (the per-dimension mean and scale are part of the model). Immutable and thread-safe.
 */
public final class LogisticRegression {
  private final double[] mean; // (dims)
  private final double[] scale; // (dims)
  private final double[] weights; // (dims)
  private final double bias;

  private LogisticRegression(double[] mean, double[] scale, double[] weights, double bias) {
    this.mean = mean;
    this.scale = scale;
    this.weights = weights;
    this.bias = bias;
  }

  /**
   * Fits a classifier to {@code x} (n vectors of one length) and labels {@code y}.
   *
   * @throws IllegalArgumentException when there are no examples, lengths differ, or only one class
   */
  public static LogisticRegression train(List<float[]> x, List<Boolean> y, int epochs, double learningRate,
      double l2) {
    requireNonNull(x, "x");
    requireNonNull(y, "y");
    if (x.isEmpty() || x.size() != y.size()) {
      throw new IllegalArgumentException("need as many labels as examples (at least one), got " + x.size()
          + " examples and " + y.size() + " labels");
    }
    if (!y.contains(true) || !y.contains(false)) {
      throw new IllegalArgumentException("the examples must include both labels (needs_core true and false)");
    }
    int n = x.size();
    int d = x.get(0).length;
    double[] mean = new double[d];
    double[] scale = new double[d];
    for (float[] v : x) {
      if (v.length != d) {
        throw new IllegalArgumentException("every example must have " + d + " dimensions, got " + v.length);
      }
      for (int j = 0; j < d; j++) {
        mean[j] += v[j] / (double) n;
      }
    }
    for (float[] v : x) {
      for (int j = 0; j < d; j++) {
        double c = v[j] - mean[j];
        scale[j] += c * c / n;
      }
    }
    for (int j = 0; j < d; j++) {
      scale[j] = scale[j] > 1e-12 ? 1 / Math.sqrt(scale[j]) : 0;
    }
    double[][] z = new double[n][d]; // (n, d) standardized
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        z[i][j] = (x.get(i)[j] - mean[j]) * scale[j];
      }
    }
    double[] w = new double[d];
    double b = 0;
    double[] grad = new double[d];
    for (int epoch = 0; epoch < epochs; epoch++) {
      Arrays.fill(grad, 0);
      double gradB = 0;
      for (int i = 0; i < n; i++) {
        double err = sigmoid(dot(w, z[i]) + b) - (y.get(i) ? 1 : 0);
        for (int j = 0; j < d; j++) {
          grad[j] += err * z[i][j];
        }
        gradB += err;
      }
      for (int j = 0; j < d; j++) {
        w[j] -= learningRate * (grad[j] / n + l2 * w[j]);
      }
      b -= learningRate * gradB / n;
    }
    return new LogisticRegression(mean, scale, w, b);
  }

  /** The probability that {@code v} belongs to the positive class. */
  public double probability(float[] v) {
    if (v.length != weights.length) {
      throw new IllegalArgumentException("expected " + weights.length + " dimensions, got " + v.length);
    }
    double s = bias;
    for (int j = 0; j < weights.length; j++) {
      s += weights[j] * (v[j] - mean[j]) * scale[j];
    }
    return sigmoid(s);
  }

  /** The input length. */
  public int dimensions() {
    return weights.length;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int j = 0; j < a.length; j++) {
      s += a[j] * b[j];
    }
    return s;
  }

  private static double sigmoid(double z) {
    return 1 / (1 + Math.exp(-z));
  }
}
