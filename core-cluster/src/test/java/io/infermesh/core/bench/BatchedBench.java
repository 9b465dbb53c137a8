package io.infermesh.core.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Native llama.cpp's {@code llama-batched-bench}: the engine's own batched decode with no server in
 * between ({@code -npp P -ntg G -npl 1,8,16}); its {@code S_TG t/s} column is the aggregate decode
 * rate for each batch size.
 */
final class BatchedBench {
  private BatchedBench() {}

  /** Runs it once and returns {batch size → S_TG t/s}. */
  static Map<Integer, Double> run(Path bin, Path gguf, int threads, int promptTokens, int maxTokens,
      List<Integer> batches, Path log) throws IOException, InterruptedException {
    int largest = batches.stream().mapToInt(Integer::intValue).max().orElseThrow();
    String t = Integer.toString(threads);
    Process p = new ProcessBuilder(bin.toString(), "-m", gguf.toString(), "-c",
        Integer.toString(largest * (promptTokens + maxTokens) + 64), "-b", "2048", "-ub", "512", "-npp",
        Integer.toString(promptTokens), "-ntg", Integer.toString(maxTokens), "-npl",
        batches.stream().map(String::valueOf).collect(Collectors.joining(",")), "-t", t, "-tb", t, "-ngl", "0", "--no-mmap")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IOException("llama-batched-bench did not finish in 10 minutes; see " + log);
    }
    if (p.exitValue() != 0) {
      throw new IOException("llama-batched-bench exited with " + p.exitValue() + "; see " + log);
    }
    return parse(Files.readAllLines(log));
  }

  /** The {@code B} and {@code S_TG t/s} columns of its markdown table. */
  static Map<Integer, Double> parse(List<String> lines) throws IOException {
    int batchColumn = -1;
    int rateColumn = -1;
    Map<Integer, Double> rates = new LinkedHashMap<>();
    for (String line : lines) {
      if (!line.startsWith("|")) {
        continue;
      }
      String[] cells = line.split("\\|");
      for (int i = 0; i < cells.length; i++) {
        cells[i] = cells[i].trim();
      }
      if (batchColumn < 0) {
        batchColumn = List.of(cells).indexOf("B");
        rateColumn = List.of(cells).indexOf("S_TG t/s");
      } else if (cells.length > rateColumn && cells[batchColumn].matches("\\d+")) {
        rates.put(Integer.parseInt(cells[batchColumn]), Double.parseDouble(cells[rateColumn]));
      }
    }
    if (batchColumn < 0 || rateColumn < 0 || rates.isEmpty()) {
      throw new IOException("no B / S_TG t/s table in llama-batched-bench's output");
    }
    return rates;
  }
}
