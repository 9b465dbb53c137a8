package io.infermesh.core.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.infermesh.core.engine.DjlRuntime;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One decoder layer's weight matmuls on the ~200M shape (dim 1024, 16/8 heads of 64, FFN 2816), in
 * the forms PyTorch offers for {@code x W^T}, at 1 and 2 intra-op threads, interleaved in one
 * process (not a unit test; run its main, argument: the rows, default {@code 1,16}). For each form
 * and thread count: the median microseconds per layer (QKV, O, gate/up, down), the weight bytes read
 * per second, and the process CPU time per wall second (how many cores the op kept busy).
 *
 * <p>Forms: {@code mm W^T view} ({@code x.matMul(W.transpose())}, W stored {@code [out, in]}: the
 * engine's path), {@code mm W' contiguous} (W pre-transposed to {@code [in, out]}), {@code linear}
 * ({@code aten::linear(x, W)}), {@code mv W x} (rows 1 only: {@code W [out, in] @ x (in)}).
 */
public final class LinearFormsBenchmark {
  private static final int DIM = 1024;
  private static final int Q = 1024;
  private static final int KV = 512;
  private static final int FFN = 2816;
  private static final int REPS = 9;
  private static final int LAYERS_PER_REP = 12;
  private static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private LinearFormsBenchmark() {}

  private interface Form {
    NDArray apply(NDArray x, NDArray wOutIn, NDArray wInOut) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    System.setProperty("ai.djl.offline", "true");
    DjlRuntime.engine();
    int[] rowsList = Arrays.stream((args.length > 0 ? args[0] : "1,16").split(",")).mapToInt(Integer::parseInt)
        .toArray();
    System.out.printf("PyTorch default intra-op threads %d, inter-op %d; load average %.2f%n", JniUtils.getNumThreads(),
        JniUtils.getNumInteropThreads(), OS.getSystemLoadAverage());
    Map<String, Form> forms = new LinkedHashMap<>();
    forms.put("mm W^T view", (x, w, wt) -> x.matMul(w.transpose()));
    forms.put("mm W' contiguous", (x, w, wt) -> x.matMul(wt));
    forms.put("linear", (x, w, wt) -> JniUtils.linear((PtNDArray) x, (PtNDArray) w, null));
    forms.put("mv W x", (x, w, wt) -> w.matMul(x.reshape(-1)));
    forms.put("mm W x^T", (x, w, wt) -> w.matMul(x.transpose()).transpose());
    forms.put("mm W^T, 2 rows", (x, w, wt) -> JniUtils.slice((PtNDArray) x.repeat(0, 2).matMul(w.transpose()), 0, 0,
        x.getShape().get(0), 1));
    ExecutorService helper = Executors.newSingleThreadExecutor(r -> new Thread(r, "gemv-half"));
    Map<NDArray, NDArray[]> halves = new IdentityHashMap<>();
    forms.put("2 Java threads, halves", (x, w, wt) -> { // each half on its own thread, one intra-op thread
      NDArray[] h = halves.get(w);
      Future<NDArray> second = helper.submit(() -> x.matMul(h[1]));
      NDArray first = x.matMul(h[0]);
      return NDArrays.concat(new NDList(first, second.get()), 1);
    });
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      long[][] shapes = {{Q + 2L * KV, DIM}, {DIM, Q}, {2L * FFN, DIM}, {DIM, FFN}}; // [out, in]
      List<NDArray> w = new ArrayList<>();
      List<NDArray> wt = new ArrayList<>();
      long bytes = 0;
      for (long[] s : shapes) {
        NDArray a = m.randomNormal(new Shape(s[0], s[1]));
        w.add(a);
        wt.add(a.transpose().duplicate()); // contiguous [in, out]
        halves.put(a, new NDArray[] {JniUtils.slice((PtNDArray) a, 0, 0, s[0] / 2, 1).transpose(),
            JniUtils.slice((PtNDArray) a, 0, s[0] / 2, s[0], 1).transpose()});
        bytes += s[0] * s[1] * 4;
      }
      for (int rows : rowsList) {
        NDArray[] x = new NDArray[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
          x[i] = m.randomNormal(new Shape(rows, shapes[i][1]));
        }
        int[] threadCounts = {1, 2};
        Map<String, double[][]> wall = new LinkedHashMap<>(); // form@threads -> [rep][op]
        Map<String, double[]> cpuShare = new LinkedHashMap<>();
        Map<String, double[]> callerCpu = new LinkedHashMap<>(); // µs of the calling thread's CPU per layer
        for (int rep = 0; rep < REPS; rep++) {
          for (int threads : threadCounts) {
            JniUtils.setNumThreads(threads);
            for (Map.Entry<String, Form> f : forms.entrySet()) {
              if (rows != 1 && (f.getKey().startsWith("mv") || f.getKey().startsWith("mm W x"))) {
                continue;
              }
              String key = f.getKey() + " @" + threads;
              double[] perOp = new double[shapes.length + 1];
              long c0 = OS.getProcessCpuTime();
              long t0cpu = THREAD.getCurrentThreadCpuTime();
              long w0 = System.nanoTime();
              for (int layer = 0; layer < LAYERS_PER_REP; layer++) {
                for (int op = 0; op < shapes.length; op++) {
                  long t0 = System.nanoTime();
                  try (NDManager st = m.newSubManager()) {
                    NDArray y = f.getValue().apply(x[op], w.get(op), wt.get(op));
                    y.attach(st);
                  }
                  perOp[op] += (System.nanoTime() - t0) / 1e3 / LAYERS_PER_REP;
                }
              }
              long wallNs = System.nanoTime() - w0;
              callerCpu.computeIfAbsent(key, k -> new double[REPS])[rep] =
                  (THREAD.getCurrentThreadCpuTime() - t0cpu) / 1e3 / LAYERS_PER_REP;
              perOp[shapes.length] = wallNs / 1e3 / LAYERS_PER_REP;
              wall.computeIfAbsent(key, k -> new double[REPS][])[rep] = perOp;
              cpuShare.computeIfAbsent(key, k -> new double[REPS])[rep] =
                  (double) (OS.getProcessCpuTime() - c0) / wallNs;
            }
          }
        }
        System.out.printf("rows %d: median of %d reps x %d layers, µs per matmul; load average %.2f%n", rows, REPS,
            LAYERS_PER_REP, OS.getSystemLoadAverage());
        System.out.printf("  %-26s %8s %8s %8s %8s %9s %8s %6s %10s%n", "form @threads", "qkv", "o", "gate/up", "down",
            "layer", "GB/s", "cores", "caller CPU");
        for (Map.Entry<String, double[][]> e : wall.entrySet()) {
          double[] med = new double[shapes.length + 1];
          for (int op = 0; op <= shapes.length; op++) {
            int o = op;
            double[] v = Arrays.stream(e.getValue()).mapToDouble(r -> r[o]).sorted().toArray();
            med[op] = v[v.length / 2];
          }
          double[] cores = cpuShare.get(e.getKey()).clone();
          Arrays.sort(cores);
          double[] caller = callerCpu.get(e.getKey()).clone();
          Arrays.sort(caller);
          System.out.printf("  %-26s %8.0f %8.0f %8.0f %8.0f %9.0f %8.1f %6.2f %10.0f%n", e.getKey(), med[0], med[1],
              med[2], med[3], med[4], bytes / (med[4] * 1e3), cores[cores.length / 2], caller[caller.length / 2]);
        }
      }
    }
    helper.shutdown();
    System.exit(0);
  }
}
