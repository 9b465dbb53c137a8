package io.infermesh.core.engine;

import io.infermesh.core.engine.TensorSource.Names;
import java.io.IOException;

/**
 * A plain-Java, double-precision Llama forward pass written straight from the math, with no cache
 * and no batching: the independent oracle the DJL engine is checked against.
 */
final class ReferenceLlama {
  private final LlamaConfig c;
  private final float[] embed;
  private final float[][] attnNorm;
  private final float[][] wq;
  private final float[][] wk;
  private final float[][] wv;
  private final float[][] wo;
  private final float[][] ffnNorm;
  private final float[][] gate;
  private final float[][] up;
  private final float[][] down;
  private final float[] norm;
  private final float[] head;

  ReferenceLlama(LlamaConfig c, TensorSource src) throws IOException {
    this.c = c;
    int d = c.dim();
    embed = src.read(Names.EMBED, c.vocabSize(), d);
    int layers = c.layers();
    attnNorm = new float[layers][];
    wq = new float[layers][];
    wk = new float[layers][];
    wv = new float[layers][];
    wo = new float[layers][];
    ffnNorm = new float[layers][];
    gate = new float[layers][];
    up = new float[layers][];
    down = new float[layers][];
    for (int l = 0; l < layers; l++) {
      attnNorm[l] = src.read(Names.attnNorm(l), d);
      wq[l] = src.read(Names.q(l), c.qDim(), d);
      wk[l] = src.read(Names.k(l), c.kvDim(), d);
      wv[l] = src.read(Names.v(l), c.kvDim(), d);
      wo[l] = src.read(Names.o(l), d, c.qDim());
      ffnNorm[l] = src.read(Names.ffnNorm(l), d);
      gate[l] = src.read(Names.gate(l), c.ffnDim(), d);
      up[l] = src.read(Names.up(l), c.ffnDim(), d);
      down[l] = src.read(Names.down(l), d, c.ffnDim());
    }
    norm = src.read(Names.NORM, d);
    head = c.tiedEmbeddings() || !src.contains(Names.LM_HEAD) ? embed : src.read(Names.LM_HEAD, c.vocabSize(), d);
  }

  /** Logits after the last token of {@code tokens}, {@code (vocab)}. */
  double[] logits(int[] tokens) {
    double[][] x = hidden(tokens);
    return matVec(head, rmsNorm(x[x.length - 1], norm), c.vocabSize());
  }

  /** The mean over positions of the final normalized hidden state, scaled to unit length, {@code (dim)}. */
  double[] embedding(int[] tokens) {
    double[][] x = hidden(tokens);
    double[] mean = new double[c.dim()];
    for (double[] row : x) {
      double[] h = rmsNorm(row, norm);
      for (int i = 0; i < mean.length; i++) {
        mean[i] += h[i] / x.length;
      }
    }
    double len = 0;
    for (double v : mean) {
      len += v * v;
    }
    len = Math.sqrt(len);
    for (int i = 0; i < mean.length; i++) {
      mean[i] /= len;
    }
    return mean;
  }

  /** The residual stream after the last layer, {@code (N, dim)}. */
  private double[][] hidden(int[] tokens) {
    int n = tokens.length;
    int d = c.dim();
    int hd = c.headDim();
    double[][] x = new double[n][d];
    for (int t = 0; t < n; t++) {
      for (int i = 0; i < d; i++) {
        x[t][i] = embed[tokens[t] * d + i];
      }
    }
    for (int l = 0; l < c.layers(); l++) {
      double[][] q = new double[n][];
      double[][] k = new double[n][];
      double[][] v = new double[n][];
      for (int t = 0; t < n; t++) {
        double[] h = rmsNorm(x[t], attnNorm[l]);
        q[t] = rope(matVec(wq[l], h, c.qDim()), t, c.heads());
        k[t] = rope(matVec(wk[l], h, c.kvDim()), t, c.kvHeads());
        v[t] = matVec(wv[l], h, c.kvDim());
      }
      for (int t = 0; t < n; t++) {
        double[] att = new double[c.qDim()];
        for (int head = 0; head < c.heads(); head++) {
          int kvHead = head / c.groupSize();
          double[] scores = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int s = 0; s <= t; s++) {
            double dot = 0;
            for (int i = 0; i < hd; i++) {
              dot += q[t][head * hd + i] * k[s][kvHead * hd + i];
            }
            scores[s] = dot / Math.sqrt(hd);
            max = Math.max(max, scores[s]);
          }
          double sum = 0;
          for (int s = 0; s <= t; s++) {
            scores[s] = Math.exp(scores[s] - max);
            sum += scores[s];
          }
          for (int s = 0; s <= t; s++) {
            for (int i = 0; i < hd; i++) {
              att[head * hd + i] += scores[s] / sum * v[s][kvHead * hd + i];
            }
          }
        }
        double[] o = matVec(wo[l], att, d);
        for (int i = 0; i < d; i++) {
          x[t][i] += o[i];
        }
        double[] h = rmsNorm(x[t], ffnNorm[l]);
        double[] g = matVec(gate[l], h, c.ffnDim());
        double[] u = matVec(up[l], h, c.ffnDim());
        for (int i = 0; i < g.length; i++) {
          g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        double[] m = matVec(down[l], g, d);
        for (int i = 0; i < d; i++) {
          x[t][i] += m[i];
        }
      }
    }
    return x;
  }

  private double[] rmsNorm(double[] x, float[] w) {
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double scale = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] * scale * w[i];
    }
    return out;
  }

  /** HF layout: element i of a head pairs with element i + hd/2. */
  private double[] rope(double[] x, int pos, int heads) {
    int hd = c.headDim();
    int half = hd / 2;
    double[] inv = c.ropeInverseFrequencies();
    double[] out = x.clone();
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < half; i++) {
        double a = pos * inv[i];
        double x1 = x[h * hd + i];
        double x2 = x[h * hd + half + i];
        out[h * hd + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        out[h * hd + half + i] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
    return out;
  }

  private static double[] matVec(float[] w, double[] x, int rows) {
    int cols = x.length;
    double[] out = new double[rows];
    for (int r = 0; r < rows; r++) {
      double acc = 0;
      for (int i = 0; i < cols; i++) {
        acc += w[r * cols + i] * x[i];
      }
      out[r] = acc;
    }
    return out;
  }
}
