package io.infermesh.core.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.infermesh.core.engine.DjlRuntime;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * One layer's KV write and decode attention, the two ways the engine has done it, interleaved in
 * one process so a loaded machine slows both alike (not a unit test; run its main, argument:
 * PyTorch intra-op threads, default 1). The ~200M shape's attention: 4 KV heads of 64, 4 query
 * heads per KV head. <b>gather</b>: write the new rows to the paged cache, gather {@code (S, L, KV *
 * hd)} by slot, permute for the matmuls (which copy it again). <b>rows</b> ({@code SequenceRows}):
 * write the new rows to the paged cache and to each sequence's contiguous row, read {@code (S, KV,
 * L, hd)} as a view.
 */
public final class AttentionLayoutBenchmark {
  private static final int KV = 4;
  private static final int G = 4;
  private static final int HD = 64;
  private static final int SLOTS = 16_384;
  private static final int STEPS = 24;

  private AttentionLayoutBenchmark() {}

  public static void main(String[] args) {
    System.setProperty("ai.djl.offline", "true");
    DjlRuntime.engine();
    JniUtils.setNumThreads(args.length > 0 ? Integer.parseInt(args[0]) : 1); // raw ops: PyTorch's own pool
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      NDArray pagedK = m.randomNormal(new Shape(SLOTS, KV, HD));
      NDArray pagedKRows = pagedK.reshape(SLOTS, KV * HD);
      NDArray pagedV = m.randomNormal(new Shape(SLOTS, KV * HD));
      for (int[] shape : new int[][] {{1, 72}, {16, 72}, {16, 960}}) {
        int s = shape[0];
        int l = shape[1];
        int length = (l + 63) / 64 * 64;
        NDArray rowK = m.randomNormal(new Shape(Math.max(4, s), KV, length, HD));
        NDArray rowV = m.randomNormal(new Shape(Math.max(4, s), KV, length, HD));
        NDArray rowKCells = rowK.reshape(-1, HD);
        NDArray rowVCells = rowV.reshape(-1, HD);
        NDArray q = m.randomNormal(new Shape(s, KV * G, HD));
        NDArray k = m.randomNormal(new Shape(s, KV, HD));
        NDArray v = m.randomNormal(new Shape(s, KV * HD));
        long[] read = new long[s * l];
        long[] cells = new long[s * KV];
        long[] write = new long[s];
        for (int i = 0; i < s; i++) {
          for (int p = 0; p < l; p++) {
            read[i * l + p] = i * 1024L + p;
          }
          for (int h = 0; h < KV; h++) {
            cells[i * KV + h] = ((long) i * KV + h) * length + l - 1;
          }
          write[i] = i * 1024L + l - 1;
        }
        double[][] ms = new double[2][7];
        for (int rep = 0; rep < 7; rep++) {
          for (int rows = 0; rows < 2; rows++) {
            long t0 = System.nanoTime();
            for (int step = 0; step < STEPS; step++) {
              try (NDManager st = m.newSubManager()) {
                NDIndex at = new NDIndex("{}", st.create(write));
                pagedK.set(at, k);
                pagedV.set(at, v);
                NDArray kt;
                NDArray vt;
                if (rows == 0) {
                  NDArray slots = st.create(read, new Shape(s, l));
                  kt = JniUtils.embedding((PtNDArray) slots, (PtNDArray) pagedKRows, false)
                      .reshape(s, l, KV, HD).transpose(0, 2, 3, 1);
                  vt = JniUtils.embedding((PtNDArray) slots, (PtNDArray) pagedV, false)
                      .reshape(s, l, KV, HD).transpose(0, 2, 1, 3);
                } else {
                  NDIndex cell = new NDIndex("{}", st.create(cells, new Shape(s, KV)));
                  rowKCells.set(cell, k);
                  rowVCells.set(cell, v.reshape(-1, KV, HD));
                  long[] view = {s, KV, l, HD};
                  kt = JniUtils.index((PtNDArray) rowK, new long[4], view, new long[] {1, 1, 1, 1}, (PtNDManager) st)
                      .transpose(0, 1, 3, 2);
                  vt = JniUtils.index((PtNDArray) rowV, new long[4], view, new long[] {1, 1, 1, 1}, (PtNDManager) st);
                }
                q.reshape(s, KV, G, HD).matMul(kt).softmax(-1).matMul(vt).reshape(s, KV * G * HD).toFloatArray();
              }
            }
            ms[rows][rep] = (System.nanoTime() - t0) / 1e6 / STEPS;
          }
        }
        Arrays.sort(ms[0]);
        Arrays.sort(ms[1]);
        System.out.printf("%2d sequence(s) at %4d positions: one layer's KV write + attention, median of 7: gather"
            + " %.3f ms, rows %.3f ms (rows / gather %.2f); load average %.2f%n", s, l, ms[0][3], ms[1][3],
            ms[1][3] / ms[0][3], ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
      }
    }
    System.exit(0);
  }
}
