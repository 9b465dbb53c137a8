package io.infermesh.edge.bench;

import io.infermesh.edge.TinyModel;
import io.infermesh.edge.bench.EdgeVsLlamaCppBenchmark.Side;
import io.infermesh.edge.bench.EdgeVsLlamaCppBenchmark.SseStream;
import io.infermesh.edge.engine.ProbeProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * {@link EdgeVsLlamaCppBenchmark}'s {@code native} rows: the edge on a {@code libjllama.so} built
 * for this CPU beside the edge on the binding's bundled (AVX2) library and llama-server, every
 * measure interleaved (bundled, built, server, ... per round). Each edge and each in-process
 * binding is a {@link ProbeProcess} child JVM with the same flags.
 */
final class NativeBindingRows {
  private static final String LIB_PROPERTY = "edge.binding.lib";
  private static final int GREEDY_TOKENS = 32;

  private final EdgeVsLlamaCppBenchmark bench;
  private final Path model;
  private final Optional<Path> bin;
  private final int rounds;

  NativeBindingRows(EdgeVsLlamaCppBenchmark bench, Path model, Optional<Path> bin) {
    this.bench = bench;
    this.model = model;
    this.bin = bin;
    this.rounds = bench.rounds;
  }

  void run(boolean oneThread, boolean twoThreads) throws Exception {
    String dir = Optional.ofNullable(System.getProperty(LIB_PROPERTY)).orElse(System.getenv("EDGE_BINDING_LIB"));
    String absent = dir == null || dir.isBlank()
        ? "pass -D" + LIB_PROPERTY + "=DIR (a libjllama.so built by edge-agent/native/build-binding.sh)"
        : !Files.isRegularFile(Path.of(dir, "libjllama.so")) ? "no libjllama.so in " + dir : null;
    if (absent != null) {
      bench.add("| edge on a binding built for this CPU | absent: " + absent + " | | |");
      return;
    }
    Optional<Path> built = Optional.of(Path.of(dir).toAbsolutePath());
    bench.add("");
    bench.add("| edge on each native library, " + rounds + " rounds interleaved | bundled binding (AVX2) "
        + "| binding built here | llama-server | bundled / server | built / server |");
    bench.add("|---|---|---|---|---|---|");
    greedyRow("tiny model", TinyModel.path(), built);
    greedyRow("0.5B shape", model, built);
    if (oneThread) {
      oneThread(built);
    }
    if (twoThreads) {
      twoThreads(built);
    }
  }

  /** The same greedy text on both libraries, or the row says they differ. */
  private void greedyRow(String what, Path gguf, Optional<Path> built) throws Exception {
    String prompt = EdgeVsLlamaCppBenchmark.SENTENCE;
    String[] texts = new String[2];
    String[] libraries = new String[2];
    List<Optional<Path>> libs = List.of(Optional.empty(), built);
    for (int i = 0; i < 2; i++) {
      try (ProbeProcess p = ProbeProcess.start("greedy-" + i, libs.get(i), "greedy", gguf.toString(),
          "" + GREEDY_TOKENS, prompt)) {
        libraries[i] = p.expect("library");
        texts[i] = p.expect("text");
      }
    }
    System.out.println("greedy " + what + ": bundled " + libraries[0] + " → " + texts[0]);
    System.out.println("greedy " + what + ": built   " + libraries[1] + " → " + texts[1]);
    if (!libraries[1].startsWith(built.get().toString())) {
      throw new IllegalStateException("the child given " + built.get() + " mapped " + libraries[1]
          + " (the binding falls back to its bundled library when one fails to load)");
    }
    bench.add("| greedy text, " + what + ", " + GREEDY_TOKENS + " tokens | "
        + (texts[0].equals(texts[1]) ? "equal" : "DIFFERENT") + " | " + texts[1].length() + " chars | | | |");
  }

  private void oneThread(Optional<Path> built) throws Exception {
    try (Side bundled = edge("edge-bundled-1t", Optional.empty(), 1); Side native1 = edge("edge-built-1t", built, 1);
        Side server = Side.server(bin, model, 1, 1)) {
      int sentences = EdgeVsLlamaCppBenchmark.sentencesFor(bundled);
      double[][] ttft = new double[3][rounds];
      int promptTokens = 0;
      List<Side> sides = List.of(bundled, native1, server);
      for (int r = 0; r < rounds; r++) {
        String text = "Round " + (r + 1) + " " + System.nanoTime() + ". "
            + EdgeVsLlamaCppBenchmark.SENTENCE.repeat(sentences);
        for (int i = 0; i < 3; i++) {
          SseStream.Result result = sides.get(i).stream(EdgeVsLlamaCppBenchmark.chat(text, 2, true));
          ttft[i][r] = result.firstTokenMillis();
          promptTokens = i == 0 ? result.promptTokens() : promptTokens;
        }
      }
      row("time to first token, " + promptTokens + "-token prompt, 1 thread", ttft, "%.0f ms", true);
      String body = EdgeVsLlamaCppBenchmark.chat(EdgeVsLlamaCppBenchmark.SENTENCE, EdgeVsLlamaCppBenchmark.DECODE_TOKENS,
          true);
      double[][] decode = new double[3][rounds];
      for (Side s : sides) {
        s.stream(body); // the prompt is cached from here on
      }
      for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 3; i++) {
          decode[i][r] = sides.get(i).stream(body).decodeRate();
        }
      }
      row("decode 1 thread, HTTP SSE", decode, "%.1f tok/s", false);
    }
  }

  private void twoThreads(Optional<Path> built) throws Exception {
    ProbeProcess bundledBinding = null;
    ProbeProcess builtBinding = null;
    ProbeProcess builtEdgeChild = edgeChild("edge-built-2t", built, 2);
    try (Side bundled = edge("edge-bundled-2t", Optional.empty(), 2); Side native2 = Side.probe(builtEdgeChild);
        Side server = Side.server(bin, model, 2, 1)) {
      bundledBinding = binding("binding-bundled-2t", Optional.empty());
      builtBinding = binding("binding-built-2t", built);
      String body = EdgeVsLlamaCppBenchmark.chat(EdgeVsLlamaCppBenchmark.SENTENCE, EdgeVsLlamaCppBenchmark.DECODE_TOKENS,
          true);
      for (Side s : List.of(bundled, native2, server)) {
        s.stream(body); // the prompt is cached from here on
      }
      double[][] e = new double[3][rounds];
      double[][] b = new double[2][rounds];
      Map<String, Double> edgeCpu = new TreeMap<>();
      Map<String, Double> bindingCpu = new TreeMap<>();
      int edgeTokens = 0;
      List<Side> sides = List.of(bundled, native2, server);
      for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 3; i++) {
          Map<String, Double> before = i == 1 ? builtEdgeChild.threadCpu() : Map.of();
          SseStream.Result result = sides.get(i).stream(body);
          e[i][r] = result.decodeRate();
          if (i == 1) {
            edgeTokens += result.tokens();
            subtract(builtEdgeChild.threadCpu(), before, edgeCpu);
          }
        }
        b[0][r] = rate(bundledBinding, null);
        b[1][r] = rate(builtBinding, bindingCpu);
      }
      row("decode 2 threads, HTTP SSE", e, "%.1f tok/s", false);
      double[][] withServer = {b[0], b[1], e[2]};
      row("binding alone in-process (no infermesh code), decode 2 threads", withServer, "%.1f tok/s", false);
      double edgeOverBinding = EdgeVsLlamaCppBenchmark.median(e[1]) / EdgeVsLlamaCppBenchmark.median(b[1]);
      double bundledOverBinding = EdgeVsLlamaCppBenchmark.median(e[0]) / EdgeVsLlamaCppBenchmark.median(b[0]);
      bench.add(String.format(Locale.ROOT, "| edge / binding alone, 2 threads (the edge path's own cost) | %.2f | %.2f "
          + "| | | |", bundledOverBinding, edgeOverBinding));
      // the binding child ran rounds × 2 generations of DECODE_TOKENS (a warm-up and the measured one)
      cpuRows(edgeCpu, edgeTokens, bindingCpu, rounds * 2 * EdgeVsLlamaCppBenchmark.DECODE_TOKENS);
    } finally {
      for (ProbeProcess p : new ProbeProcess[] {bundledBinding, builtBinding}) {
        if (p != null) {
          p.close();
        }
      }
    }
  }

  /** CPU per generated token by native thread name, the built library's edge beside its binding alone. */
  private void cpuRows(Map<String, Double> edge, int edgeTokens, Map<String, Double> binding, int bindingTokens) {
    System.out.println("CPU µs per token by thread, built library, 2 threads: edge (" + edgeTokens
        + " tokens) | binding alone (" + bindingTokens + " tokens)");
    Map<String, double[]> both = new TreeMap<>();
    edge.forEach((k, v) -> both.computeIfAbsent(k, x -> new double[2])[0] = v * 1e6 / edgeTokens);
    binding.forEach((k, v) -> both.computeIfAbsent(k, x -> new double[2])[1] = v * 1e6 / bindingTokens);
    both.forEach((name, us) -> {
      if (us[0] + us[1] > 0) { // a thread that ended meanwhile can come out negative: only the process total counts it
        System.out.printf(Locale.ROOT, "  %-16s %8.0f | %8.0f%n", name, us[0], us[1]);
      }
    });
    double[] total = both.getOrDefault(ProbeProcess.PROCESS, new double[2]);
    bench.add(String.format(Locale.ROOT, "| CPU per token, 2 threads, built library, the whole process "
        + "(edge / binding alone) | %.0f µs | %.0f µs | | | |", total[0], total[1]));
  }

  private static void subtract(Map<String, Double> after, Map<String, Double> before, Map<String, Double> into) {
    after.forEach((k, v) -> into.merge(k, v - before.getOrDefault(k, 0.0), Double::sum));
  }

  private double rate(ProbeProcess binding, Map<String, Double> cpu) throws Exception {
    Map<String, Double> before = cpu == null ? Map.of() : binding.threadCpu();
    binding.send("rate " + EdgeVsLlamaCppBenchmark.DECODE_TOKENS + " " + EdgeVsLlamaCppBenchmark.SENTENCE);
    double rate = Double.parseDouble(binding.expect("rate"));
    if (cpu != null) {
      subtract(binding.threadCpu(), before, cpu);
    }
    return rate;
  }

  private Side edge(String what, Optional<Path> lib, int threads) throws Exception {
    return Side.probe(edgeChild(what, lib, threads));
  }

  private ProbeProcess edgeChild(String what, Optional<Path> lib, int threads) throws Exception {
    ProbeProcess child = ProbeProcess.start(what, lib, "edge", model.toString(), "" + threads);
    System.out.println(what + ": " + child.expect("library"));
    return child;
  }

  private ProbeProcess binding(String what, Optional<Path> lib) throws Exception {
    ProbeProcess child = ProbeProcess.start(what, lib, "binding", model.toString(), "2");
    System.out.println(what + ": " + child.expect("library"));
    child.expect("ready");
    return child;
  }

  /** One row from {bundled, built, server} medians; {@code lowerIsBetter} makes the ratios server / edge. */
  private void row(String label, double[][] values, String format, boolean lowerIsBetter) {
    double[] m = new double[3];
    for (int i = 0; i < 3; i++) {
      m[i] = EdgeVsLlamaCppBenchmark.median(values[i]);
    }
    ToDoubleFunction<Double> ratio = v -> lowerIsBetter ? m[2] / v : v / m[2];
    String server = Double.isNaN(m[2]) ? "n/a: llama.cpp absent" : String.format(Locale.ROOT, format, m[2]);
    bench.add(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f | %.2f |", label,
        String.format(Locale.ROOT, format, m[0]), String.format(Locale.ROOT, format, m[1]), server,
        ratio.applyAsDouble(m[0]), ratio.applyAsDouble(m[1])));
  }
}
