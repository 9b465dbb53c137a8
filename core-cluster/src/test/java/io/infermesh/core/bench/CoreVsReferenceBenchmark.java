package io.infermesh.core.bench;

import io.infermesh.core.engine.WeightPrecision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The core beside the engines a user would pick instead, on the same ~200M-parameter F32 Llama
 * ({@link ReferenceModel}), 2 threads each: the infermesh core (its server's loader and batch loop,
 * in process), PyTorch eager as transformers' {@code generate} runs it ({@link
 * TorchEagerContender}), native llama.cpp's {@code llama-server -np N} over HTTP and its {@code
 * llama-batched-bench}. 1, 8 and 16 concurrent streams of a 32-token prompt and 64 greedy tokens,
 * the engines interleaved within each round, {@value #ROUNDS_DEFAULT} rounds (or {@code
 * -Dbench.rounds}); each cell is the median aggregate decode rate ({@link DecodeRun}). Before the
 * rounds, each engine's greedy tokens for the first prompt are compared with the core's.
 *
 * <p>llama.cpp lives outside the repository: {@code -Dllama.cpp.bin=DIR} names the directory with
 * {@code llama-server} and {@code llama-batched-bench}; {@code -Dtorch.python=PATH} a Python with
 * {@code torch} (default {@code python3}). An engine that is not there gets the column "absent:
 * why" and the rest still runs. Models are cached in {@code -Dbench.models} (default {@code
 * ~/.cache/infermesh/core-bench}, about 1.7 GB). Not part of {@code verify} (the name does not end
 * in Test). {@code -Dbench.precision=float16} (or {@code float16-decode}) loads the core with that
 * {@code engine.dtype} and gives llama.cpp the same model in F16 (converted once with its {@code
 * llama-quantize}), so the two compare at the same precision; PyTorch eager stays F32. Run:
 *
 * <pre>
 * ./mvnw -o -B -pl core-cluster -am test -Dtest=CoreVsReferenceBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dllama.cpp.bin=/path/to/llama.cpp/build/bin -Dtorch.python=/usr/bin/python3
 * </pre>
 *
 * <p>Lines start with CORE-VS.
 */
class CoreVsReferenceBenchmark {
  private static final int ROUNDS_DEFAULT = 3;
  private static final int THREADS = 2;
  private static final int PROMPT_TOKENS = 32;
  private static final int MAX_TOKENS = 64;
  private static final List<Integer> STREAMS = List.of(1, 8, 16);
  private static final String BATCHED = "llama-batched-bench";

  @Test
  void coreBesidePyTorchEagerAndLlamaCpp() throws Exception {
    int rounds = Integer.getInteger("bench.rounds", ROUNDS_DEFAULT);
    Path cache = Path.of(System.getProperty("bench.models",
        Path.of(System.getProperty("user.home"), ".cache", "infermesh", "core-bench").toString()));
    Path work = Files.createTempDirectory("core-vs-reference");
    ReferenceModel model = ReferenceModel.writeOrReuse(cache);
    WeightPrecision precision = WeightPrecision.parse(System.getProperty("bench.precision", "float32"));
    print("model: %s, %.0fM parameters, F32 (core: engine.dtype %s), dim %d, %d layers, %d/%d heads, FFN %d, vocab 32000; prompt %d tokens,"
        + " %d generated, %d threads per engine, %d rounds; logs in %s", model.gguf(), model.parameters() / 1e6,
        precision.configName(),
        model.spec().embeddingLength(), model.spec().blockCount(), model.spec().headCount(),
        model.spec().headCountKv(), model.spec().feedForwardLength(), PROMPT_TOKENS, MAX_TOKENS, THREADS, rounds, work);

    Map<String, String> absent = new LinkedHashMap<>();
    List<Contender> contenders = new ArrayList<>();
    CoreContender core = CoreContender.load(model.gguf(), THREADS, precision);
    contenders.add(core);
    String python = System.getProperty("torch.python", "python3");
    try {
      contenders.add(TorchEagerContender.start(python, model.hfDir(), THREADS, work));
    } catch (IOException e) {
      absent.put("PyTorch eager", e.getMessage());
    }
    String bin = System.getProperty("llama.cpp.bin", "");
    Path batched = null;
    Path llamaGguf = model.gguf();
    if (bin.isBlank()) {
      absent.put("llama-server", "no -Dllama.cpp.bin=DIR given");
      absent.put(BATCHED, "no -Dllama.cpp.bin=DIR given");
    } else {
      Path server = Path.of(bin, "llama-server");
      if (precision != WeightPrecision.FLOAT32) {
        llamaGguf = halfPrecision(Path.of(bin, "llama-quantize"), model.gguf(), work);
        print("llama.cpp runs %s (F16)", llamaGguf);
      }
      if (Files.isExecutable(server)) {
        contenders.add(new LlamaServerContender(server, llamaGguf, THREADS, work.resolve("llama-server.log")));
      } else {
        absent.put("llama-server", "no executable " + server);
      }
      batched = Path.of(bin, BATCHED);
      if (!Files.isExecutable(batched)) {
        absent.put(BATCHED, "no executable " + batched);
        batched = null;
      }
    }
    absent.forEach((name, why) -> print("ABSENT %s: %s", name, why));

    try {
      parity(core, contenders);
      Map<String, Map<Integer, List<Double>>> rates = new LinkedHashMap<>();
      List<String> load = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        load.add(loadAverage());
        for (int streams : STREAMS) {
          for (Contender c : contenders) {
            double r = c.run(prompts(streams), MAX_TOKENS).decodeTokensPerSecond();
            rates.computeIfAbsent(c.name(), k -> new LinkedHashMap<>()).computeIfAbsent(streams, k -> new ArrayList<>())
                .add(r);
            print("round %d, %2d streams, %-22s %8.1f tok/s", round + 1, streams, c.name(), r);
          }
        }
        if (batched != null) {
          Map<Integer, Double> b = BatchedBench.run(batched, llamaGguf, THREADS, PROMPT_TOKENS, MAX_TOKENS, STREAMS,
              work.resolve("batched-bench-" + round + ".log"));
          b.forEach((streams, r) -> rates.computeIfAbsent(BATCHED, k -> new LinkedHashMap<>())
              .computeIfAbsent(streams, k -> new ArrayList<>()).add(r));
          print("round %d, %s %s tok/s", round + 1, BATCHED, b);
        }
      }
      load.add(loadAverage());
      table(core.name(), rates, absent, rounds);
      print("load average (1, 5, 15 min) before each round and at the end: %s", String.join(" | ", load));
    } finally {
      for (Contender c : contenders) {
        c.close();
      }
    }
  }

  /** {@code gguf} converted to F16 by llama.cpp's own {@code llama-quantize}, next to it (made once). */
  private static Path halfPrecision(Path quantize, Path gguf, Path work) throws IOException, InterruptedException {
    Path half = gguf.resolveSibling(gguf.getFileName().toString().replace("-f32.gguf", "") + "-f16.gguf");
    if (Files.isRegularFile(half)) {
      return half;
    }
    if (!Files.isExecutable(quantize)) {
      throw new IOException("-Dbench.precision needs " + quantize + " (build llama.cpp's llama-quantize target) to"
          + " give llama.cpp the model in F16");
    }
    Path partial = half.resolveSibling(half.getFileName() + ".partial");
    Path log = work.resolve("llama-quantize.log");
    Process p = new ProcessBuilder(quantize.toString(), gguf.toString(), partial.toString(), "F16")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (p.waitFor() != 0) {
      throw new IOException("llama-quantize failed with " + p.exitValue() + "; see " + log);
    }
    Files.move(partial, half);
    return half;
  }

  /** Greedy tokens for the first prompt, one stream, compared with the core's. */
  private static void parity(CoreContender core, List<Contender> contenders) throws Exception {
    int[] reference = null;
    for (Contender c : contenders) {
      int[] tokens = c.run(prompts(1), MAX_TOKENS).tokens()[0]; // also the warm-up
      if (reference == null) {
        reference = tokens;
        print("PARITY core greedy text: \"%s\"", core.text(tokens).replace("\n", "\\n"));
        continue;
      }
      int same = 0;
      while (same < Math.min(tokens.length, reference.length) && tokens[same] == reference[same]) {
        same++;
      }
      print("PARITY %s: %s (the first %d of %d greedy tokens equal the core's)%s", c.name(),
          same == reference.length && tokens.length == reference.length ? "EQUAL" : "DIFFERENT", same,
          reference.length, same == reference.length ? "" : "; core " + Arrays.toString(reference) + " vs "
              + Arrays.toString(tokens));
    }
  }

  private static void table(String core, Map<String, Map<Integer, List<Double>>> rates, Map<String, String> absent,
      int rounds) {
    List<String> others = new ArrayList<>(rates.keySet());
    others.remove(core);
    StringBuilder head = new StringBuilder("| streams | " + core);
    StringBuilder rule = new StringBuilder("|---|---");
    List<String> columns = new ArrayList<>(others);
    columns.addAll(absent.keySet().stream().filter(a -> others.stream().noneMatch(o -> o.startsWith(a))).toList());
    for (String o : columns) {
      head.append(" | ").append(o);
      rule.append("|---");
    }
    for (String o : others) {
      head.append(" | core / ").append(o);
      rule.append("|---");
    }
    print("decode tokens/s, aggregate over the streams, median of %d rounds:", rounds);
    print("%s |", head);
    print("%s|", rule);
    double single = median(rates.get(core).get(1));
    for (int streams : STREAMS) {
      double mine = median(rates.get(core).get(streams));
      StringBuilder row = new StringBuilder(String.format("| %d | %.1f", streams, mine));
      if (streams > 1) {
        row.append(String.format(" (%.1f× its 1 stream)", mine / single));
      }
      for (String o : columns) {
        Map<Integer, List<Double>> r = rates.get(o);
        row.append(r == null ? " | absent: " + absent.get(o) : String.format(" | %.1f", median(r.get(streams))));
      }
      for (String o : others) {
        row.append(String.format(" | %.2f", mine / median(rates.get(o).get(streams))));
      }
      print("%s |", row);
    }
  }

  /** Stream {@code s}'s prompt: {@value #PROMPT_TOKENS} learned merged tokens, a different sequence per stream. */
  private static int[][] prompts(int streams) {
    int[][] p = new int[streams][PROMPT_TOKENS];
    for (int s = 0; s < streams; s++) {
      for (int i = 0; i < PROMPT_TOKENS; i++) {
        p[s][i] = 256 + (s * 31 + i * 7) % 253;
      }
    }
    return p;
  }

  private static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static String loadAverage() throws IOException {
    String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
    return f[0] + " " + f[1] + " " + f[2];
  }

  private static void print(String format, Object... args) {
    System.out.printf("CORE-VS " + format + "%n", args);
  }
}
