package io.infermesh.edge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.management.OperatingSystemMXBean;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What streaming costs the embedded engine's edge: the same agent (2 decode threads, the
 * 0.5B-shaped Q4_0 words model) asked the same greedy 128-token completion streamed ({@code
 * stream: true}) and whole, alternated, medians reported. Besides wall time and time to the first
 * text, it reads the CPU time of every Java thread of this JVM around each request, grouped by
 * thread name (the read-ahead pump, Jetty's request threads, the rest) — the per-token work the
 * Java side adds on top of llama.cpp's native decode threads, which is what takes a core from
 * decoding when both cores decode. The client is a plain socket on the test thread, whose own CPU
 * is left out. Not part of {@code verify}; run with
 * {@code ./mvnw -o -B -pl edge-agent -am test -Dtest=StreamingCostBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * and read the {@code STREAMING} lines of
 * {@code edge-agent/target/surefire-reports/io.infermesh.edge.bench.StreamingCostBenchmark-output.txt}.
 */
class StreamingCostBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TOKENS = Integer.getInteger("streaming.tokens", 128);
  private static final int ROUNDS = Integer.getInteger("streaming.rounds", 7);
  private static final int THREADS_OF_DECODE = Integer.getInteger("streaming.threads", 2);
  private static final String PROMPT = "The old lighthouse keeper climbed the stairs and looked out over the sea";
  private static final Pattern COMPLETION_TOKENS = Pattern.compile("\"completion_tokens\":(\\d+)");
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  /** The group of the native threads that llama.cpp attached to the JVM (its server loop: it decodes). */
  private static final String NATIVE_ATTACHED = "Thread";

  @Test
  void streamedAgainstWhole_twoThreads_halfBillionWords() throws Exception {
    System.out.printf(Locale.ROOT, "STREAMING load average %.2f at start, %d cores%n", load(),
        Runtime.getRuntime().availableProcessors());
    Path model = TinyModels.write(TinyModelSpec.halfBillionWords(GgmlType.Q4_0), TinyModel.directory());
    EdgeConfig config = TinyModel.config()
        .withModel(EdgeConfig.Model.builder().path(model).name("bench").contextSize(1024).threads(THREADS_OF_DECODE).parallel(1)
            .defaultMaxTokens(16).build())
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)));
    EdgeAgent agent = EdgeAgent.builder(config).start(); // loads on its own thread, which exits
    try {
      agent.awaitModel(Duration.ofMinutes(5));
      int port = agent.httpPort();
      ask(port, true);
      ask(port, false);
      List<Sample> streamed = new ArrayList<>();
      List<Sample> whole = new ArrayList<>();
      for (int i = 0; i < ROUNDS; i++) { // the order alternates each round
        boolean streamFirst = i % 2 == 0;
        (streamFirst ? streamed : whole).add(ask(port, streamFirst));
        (streamFirst ? whole : streamed).add(ask(port, !streamFirst));
      }
      report("whole   ", whole);
      report("streamed", streamed);
      double ws = median(whole.stream().mapToDouble(Sample::seconds).toArray());
      double ss = median(streamed.stream().mapToDouble(Sample::seconds).toArray());
      double[] paired = new double[ROUNDS];
      Arrays.setAll(paired, i -> streamed.get(i).seconds() / whole.get(i).seconds());
      System.out.printf(Locale.ROOT, "STREAMING streamed/whole wall time: ratio of medians %.3f, median of paired"
          + " ratios %.3f; Java threads' CPU a token (decode's attached threads left out): streamed %.1f µs, whole %.1f µs%n", ss / ws, median(paired),
          median(streamed.stream().mapToDouble(Sample::javaMicrosPerToken).toArray()),
          median(whole.stream().mapToDouble(Sample::javaMicrosPerToken).toArray()));
    } finally {
      agent.close();
    }
    System.out.printf(Locale.ROOT, "STREAMING load average %.2f at the end%n", load());
  }

  private static void report(String label, List<Sample> samples) {
    Map<String, double[]> groups = new TreeMap<>();
    for (int i = 0; i < samples.size(); i++) {
      for (Map.Entry<String, Long> e : samples.get(i).javaCpu().entrySet()) {
        groups.computeIfAbsent(e.getKey(), k -> new double[samples.size()])[i] =
            e.getValue() / 1e3 / samples.get(i).tokens();
      }
    }
    StringBuilder perGroup = new StringBuilder();
    groups.forEach((name, v) -> perGroup.append(String.format(Locale.ROOT, " %s %.1f", name, median(v))));
    Map<String, double[]> wakes = new TreeMap<>();
    for (int i = 0; i < samples.size(); i++) {
      for (Map.Entry<String, Long> e : samples.get(i).switches().entrySet()) {
        wakes.computeIfAbsent(e.getKey(), k -> new double[samples.size()])[i] =
            (double) e.getValue() / samples.get(i).tokens();
      }
    }
    StringBuilder perThreadKind = new StringBuilder();
    wakes.forEach((name, v) -> {
      double m = median(v);
      if (m >= 0.05) {
        perThreadKind.append(String.format(Locale.ROOT, " %s %.2f", name, m));
      }
    });
    double total = median(samples.stream().mapToDouble(x -> x.switches().values().stream().mapToLong(Long::longValue)
        .sum() / (double) x.tokens()).toArray());
    System.out.printf(Locale.ROOT, "STREAMING %s %d rounds, %d tokens: wall %.3f s (%.1f tok/s), first text %s,"
            + " process CPU %.0f µs a token, Java threads' CPU a token (µs, median by thread group):%s%n", label,
        samples.size(), samples.get(0).tokens(), median(samples.stream().mapToDouble(Sample::seconds).toArray()),
        median(samples.stream().mapToDouble(s -> s.tokens() / s.seconds()).toArray()),
        samples.get(0).firstText() > 0
            ? String.format(Locale.ROOT, "%.1f ms",
                median(samples.stream().mapToDouble(s -> s.firstText() / 1e6).toArray()))
            : "n/a",
        median(samples.stream().mapToDouble(s -> s.processCpu() / 1e3 / s.tokens()).toArray()), perGroup);
    System.out.printf(Locale.ROOT, "STREAMING %s context switches a token, all threads %.2f; by thread kind (>= 0.05):%s%n",
        label, total, perThreadKind);
  }

  /** One greedy completion of {@link #TOKENS} tokens over a fresh connection, read on this thread. */
  private static Sample ask(int port, boolean stream) throws IOException {
    ObjectNode o = JSON.createObjectNode().put("model", "bench").put("prompt", PROMPT).put("max_tokens", TOKENS)
        .put("temperature", 0).put("stream", stream);
    if (stream) {
      o.putObject("stream_options").put("include_usage", true);
    }
    byte[] body = o.toString().getBytes(StandardCharsets.UTF_8);
    byte[] head = ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: application/json\r\n"
        + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    Map<String, Long> switchesBefore = contextSwitches();
    Map<Long, Long> before = javaCpu();
    Map<Long, String> names = new HashMap<>();
    long process = processCpu();
    long self = THREADS.getCurrentThreadCpuTime();
    long start = System.nanoTime();
    long firstText = 0;
    ByteArrayOutputStream answer = new ByteArrayOutputStream();
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      OutputStream out = socket.getOutputStream();
      out.write(head);
      out.write(body);
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[16384];
      for (int n; (n = in.read(buffer)) > 0; ) {
        answer.write(buffer, 0, n);
        if (stream && firstText == 0) {
          String read = new String(buffer, 0, n, StandardCharsets.UTF_8);
          int at = read.indexOf("\"text\":\"");
          if (at >= 0 && at + 8 < read.length() && read.charAt(at + 8) != '"') {
            firstText = System.nanoTime() - start;
          }
        }
      }
    }
    long elapsed = System.nanoTime() - start;
    long processCpu = processCpu() - process - (THREADS.getCurrentThreadCpuTime() - self);
    Map<Long, Long> after = javaCpu();
    Map<String, Long> switches = contextSwitches();
    switchesBefore.forEach((k, v) -> switches.merge(k, -v, Long::sum));
    for (long id : after.keySet()) {
      var info = THREADS.getThreadInfo(id);
      if (info != null) {
        names.put(id, info.getThreadName());
      }
    }
    Map<String, Long> byGroup = new TreeMap<>();
    long me = Thread.currentThread().getId();
    after.forEach((id, cpu) -> {
      if (id != me) {
        byGroup.merge(group(names.getOrDefault(id, "gone")), cpu - before.getOrDefault(id, 0L), Long::sum);
      }
    });
    String text = answer.toString(StandardCharsets.UTF_8);
    assertThat(text).startsWith("HTTP/1.1 200");
    Matcher m = COMPLETION_TOKENS.matcher(text);
    int tokens = -1;
    while (m.find()) {
      tokens = Integer.parseInt(m.group(1));
    }
    assertThat(tokens).as("usage in %s", text).isPositive();
    return new Sample(stream, elapsed, firstText, tokens, processCpu, byGroup, switches);
  }

  /** The thread's kind: its name without a trailing number. */
  private static String group(String name) {
    String g = name.replaceAll("[-_ ]?\\d+$", "");
    return g.startsWith("qtp") ? "jetty" : g.isEmpty() ? "other" : g.replace(' ', '_');
  }

  /**
   * Context switches (voluntary and not) of every thread of this process, by thread kind
   * ({@code /proc/self/task/*}: native threads too, under their 15-character names): a thread
   * hand-off costs a wake-up, and on 2 busy cores each wake-up takes a core from decoding.
   */
  private static Map<String, Long> contextSwitches() {
    Map<String, Long> out = new TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String name = Files.readString(task.resolve("comm")).strip();
          long n = 0;
          for (String line : Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
              n += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            }
          }
          out.merge(group(name), n, Long::sum);
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/self/task", e);
    }
    return out;
  }

  private static Map<Long, Long> javaCpu() {
    long[] ids = THREADS.getAllThreadIds();
    Map<Long, Long> cpu = new HashMap<>();
    for (long id : ids) {
      long t = THREADS.getThreadCpuTime(id);
      if (t >= 0) {
        cpu.put(id, t);
      }
    }
    return cpu;
  }

  private record Sample(boolean stream, long nanos, long firstText, int tokens, long processCpu,
      Map<String, Long> javaCpu, Map<String, Long> switches) {
    double seconds() {
      return nanos / 1e9;
    }

    /** Java threads' CPU a token, without the native threads llama.cpp attached to the JVM (named Thread-N: decoding). */
    double javaMicrosPerToken() {
      return javaCpu.entrySet().stream().filter(e -> !e.getKey().equals(NATIVE_ATTACHED)).mapToLong(Map.Entry::getValue)
          .sum() / 1e3 / tokens;
    }
  }

  private static long processCpu() {
    return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }
}
