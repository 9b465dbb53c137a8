package io.infermesh.edge.http;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.bench.LlamaServerProcess;
import io.infermesh.edge.config.EdgeConfig;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The edge's front path under load (issue 19): a real agent on the tiny model with the response
 * cache on, one chat completion answered once by the model, then the same request sent by
 * <a href="https://github.com/wg/wrk">wrk</a> over loopback at 1, 32 and 256 connections
 * ({@code wrk -t2 -d10s --latency}). Every answer must be a cache hit: the agent's
 * {@code infermesh.edge.cache.requests{result="hit"}} counter has to grow by at least what wrk
 * counted, and wrk must see no non-2xx answer. {@code /healthz} at 32 connections is measured
 * too, as the floor of the HTTP stack itself (Jetty and Javalin with nothing behind them), and
 * so is a native llama.cpp {@code llama-server}'s {@code /health} on the same box, in the same
 * run, as another server's floor ({@code -Dllama.cpp.bin=DIR} or {@code LLAMA_CPP_BIN}; without
 * it the row says why it is absent).
 *
 * <pre>
 * apt-get install wrk    # once
 * ./mvnw -q -o -pl edge-agent -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -Dllama.cpp.bin=/path/to/llama.cpp/build/bin \
 *     -cp edge-agent/target/test-classes:edge-agent/target/classes:$(cat edge-agent/target/cp.txt) \
 *     io.infermesh.edge.http.FrontDoorWrkBenchmark [seconds per run, default 10]
 * </pre>
 *
 * Prints a table of requests/s and latency percentiles (wrk's); the agent's CPU time and allocation
 * per request (steadier than requests/s on a shared machine); the CPU that wrk itself used and
 * that every other process on the machine used meanwhile (in % of one core: 200% is both cores of
 * a 2-core box; the llama-server row counts llama-server among the others); the agent's garbage
 * collections while wrk ran and their time; the collector, the heap and the load average.
 *
 * <p>To compare settings in one run: {@code -Dfrontdoor.max_threads=16,250} starts one agent per
 * {@code http.max_threads} value, {@code -Dfrontdoor.rounds=N} repeats every row N times with the
 * agents taking turns and prints the round with the median requests/s, and {@code
 * -Dfrontdoor.connections=32} measures the cache hit at 32 connections only.
 *
 * <p>Not run by {@code verify}. Without wrk on the {@code PATH} it says so and exits with status 2.
 * Run from the repository root (the tiny model is written under {@code target/tiny-models}).
 */
final class FrontDoorWrkBenchmark {
  private static final String BODY = "{\"model\": \"tiny-edge\", \"messages\": [{\"role\": \"user\", \"content\":"
      + " \"What is the capital of France?\"}], \"max_tokens\": 16, \"temperature\": 0}";

  private FrontDoorWrkBenchmark() {}

  /** Runs the benchmark and exits: 0 when measured, 1 when it failed, 2 without wrk. */
  public static void main(String[] args) {
    int status;
    try {
      status = run(args.length > 0 ? Integer.parseInt(args[0]) : 10);
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    }
    System.exit(status); // the agent's non-daemon pools would keep the JVM up
  }

  private static int run(int seconds) throws Exception {
    Path wrk = onPath("wrk");
    if (wrk == null) {
      System.err.println("FrontDoorWrkBenchmark: wrk is not on the PATH; install it (Debian: apt-get install wrk,"
          + " or build https://github.com/wg/wrk) and run again. Nothing was measured.");
      return 2;
    }
    List<Integer> poolSizes = new ArrayList<>();
    for (String size : System.getProperty("frontdoor.max_threads", "").split(",")) {
      if (!size.isBlank()) {
        poolSizes.add(Integer.parseInt(size.strip()));
      }
    }
    int rounds = Integer.getInteger("frontdoor.rounds", 1);
    List<Integer> connections = new ArrayList<>();
    for (String c : System.getProperty("frontdoor.connections", "1,32,256").split(",")) {
      connections.add(Integer.parseInt(c.strip()));
    }
    Path script = Files.createTempFile("frontdoor-wrk", ".lua");
    Files.writeString(script, "wrk.method = \"POST\"\n"
        + "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        + "wrk.body = '" + BODY + "'\n");
    List<EdgeAgent> agents = new ArrayList<>();
    try (LlamaServerHealth llama = LlamaServerHealth.start(TinyModel.path())) {
      for (Integer size : poolSizes.isEmpty() ? List.<Integer>of(-1) : poolSizes) {
        EdgeConfig config = TinyModel.config();
        if (size > 0) {
          config = config.withHttp(config.http().toBuilder().maxThreads(size).build());
        }
        EdgeAgent agent = EdgeAgent.builder(config).start();
        agents.add(agent);
        agent.awaitModel(Duration.ofMinutes(2)); // loaded on the agent's own loader thread, which exits
        String base = "http://127.0.0.1:" + agent.httpPort();
        prime(base);
        // warm-up: JIT and connections, not reported
        Wrk.run(wrk, script, base + "/v1/chat/completions", 32, Math.max(2, seconds / 2));
        Wrk.run(wrk, null, base + "/healthz", 32, Math.max(2, seconds / 2));
      }
      if (llama.url().isPresent()) {
        Wrk.run(wrk, null, llama.url().get(), 32, Math.max(2, seconds / 2));
      }
      Map<String, List<Row>> rows = new LinkedHashMap<>();
      for (int round = 0; round < rounds; round++) {
        for (EdgeAgent agent : agents) {
          String base = "http://127.0.0.1:" + agent.httpPort();
          String pool = agents.size() == 1 ? "" : " [" + agent.config().http().maxThreads() + " thr]";
          for (int c : connections) {
            double hitsBefore = cacheHits(agent);
            Costs costs = Costs.start();
            Wrk.Result r = Wrk.run(wrk, script, base + "/v1/chat/completions", c, seconds);
            String cost = costs.per(r);
            double hits = cacheHits(agent) - hitsBefore;
            if (r.non2xx() > 0 || hits < r.requests()) {
              throw new IllegalStateException("not every answer was a cache hit at c=" + c + ": " + r.requests()
                  + " requests, " + (long) hits + " cache hits, " + r.non2xx() + " non-2xx");
            }
            rows.computeIfAbsent("cache hit" + pool + " " + c, k -> new ArrayList<>())
                .add(row("chat completion, cache hit" + pool, c, r, cost));
          }
          Costs costs = Costs.start();
          Wrk.Result health = Wrk.run(wrk, null, base + "/healthz", 32, seconds);
          rows.computeIfAbsent("healthz" + pool, k -> new ArrayList<>())
              .add(row("/healthz (the HTTP floor)" + pool, 32, health, costs.per(health)));
        }
        String llamaRow = "llama-server /health";
        if (llama.url().isPresent()) {
          Costs costs = Costs.start();
          Wrk.Result r = Wrk.run(wrk, null, llama.url().get(), 32, seconds);
          rows.computeIfAbsent(llamaRow, k -> new ArrayList<>()).add(row(llamaRow, 32, r, costs.perOther(r)));
        } else {
          rows.put(llamaRow, List.of(new Row(0, String.format(Locale.ROOT, "FRONTDOOR-WRK %-36s %5d absent: %s",
              llamaRow, 32, llama.absence()))));
        }
      }
      OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
      System.out.printf(Locale.ROOT, "FRONTDOOR-WRK %d cores, load average %.2f, %s, %s, wrk -t2 -d%ds --latency,"
          + " %d round(s), the median round shown%n", os.getAvailableProcessors(), os.getSystemLoadAverage(), gc(),
          llama.version(), seconds, rounds);
      System.out.printf(Locale.ROOT, "FRONTDOOR-WRK %-36s %5s %10s %9s %9s %9s %9s %11s %8s %8s %8s %13s%n",
          "path", "conns", "req/s", "p50", "p90", "p99", "max", "cpu us/req", "KiB/req", "wrk cpu", "others", "GCs / time");
      rows.values().forEach(r -> System.out.println(Row.median(r)));
    } finally {
      for (EdgeAgent agent : agents) {
        agent.close();
      }
      Files.deleteIfExists(script);
    }
    return 0;
  }

  private static Row row(String path, int connections, Wrk.Result r, String cost) {
    String text = String.format(Locale.ROOT, "FRONTDOOR-WRK %-36s %5d %10.0f %9s %9s %9s %9s %s", path, connections,
        r.requestsPerSecond(), r.p50(), r.p90(), r.p99(), r.max(), cost);
    System.out.println(text.replace("FRONTDOOR-WRK ", "FRONTDOOR-WRK-RUN ")); // every round, as it is measured
    return new Row(r.requestsPerSecond(), text);
  }

  /**
   * What the agent's process spent per request while wrk ran: CPU time (all its threads; on a busy
   * machine this moves far less than requests/s does) and bytes allocated by its live threads; and
   * the CPU that wrk and everything else on the machine used meanwhile, from {@code /proc/stat}.
   */
  private record Costs(long cpuNanos, long allocatedBytes, long machineBusyNanos, long startNanos,
      long gcsBefore, long gcMillisBefore) {
    static Costs start() {
      return new Costs(cpu(), allocated(), machineBusy(), System.nanoTime(), gcCount(), gcMillis());
    }

    /** The agent's costs per request, its collections and their time, then wrk's and the others' CPU share. */
    String per(Wrk.Result r) {
      long agentNanos = cpu() - cpuNanos;
      return String.format(Locale.ROOT, "%11.1f %8.1f %s %s", agentNanos / 1e3 / r.requests(),
          (allocated() - allocatedBytes) / 1024.0 / r.requests(), shares(r, agentNanos), collections());
    }

    /** Only wrk's and the others' CPU share: another server answered (it is among the others). */
    String perOther(Wrk.Result r) {
      return String.format(Locale.ROOT, "%11s %8s %s %s", "-", "-", shares(r, 0), "-");
    }

    /** Collections while wrk ran and the time they took (G1's and Parallel's young ones are whole pauses). */
    private String collections() {
      return String.format(Locale.ROOT, "%13s", (gcCount() - gcsBefore) + " / " + (gcMillis() - gcMillisBefore) + " ms");
    }

    private static long gcCount() {
      return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
    }

    private static long gcMillis() {
      return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    private String shares(Wrk.Result r, long agentNanos) {
      double wall = System.nanoTime() - startNanos;
      long others = machineBusy() - machineBusyNanos - agentNanos - r.cpuNanos();
      return String.format(Locale.ROOT, "%7.0f%% %7.0f%%", 100 * r.cpuNanos() / wall, 100 * Math.max(0, others) / wall);
    }

    private static long cpu() {
      return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
          .getProcessCpuTime();
    }

    private static long allocated() {
      com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      long sum = 0;
      for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
        sum += Math.max(0, bytes);
      }
      return sum;
    }

    /** Every CPU's busy time (user, nice, system, irq, softirq, steal) since boot; ticks are 10ms. */
    private static long machineBusy() {
      try {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long busy = 0;
        for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
          busy += Long.parseLong(f[i]);
        }
        return busy * 10_000_000L;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** One printed row and its requests/s. */
  private record Row(double rate, String text) {
    /** Among one row's rounds, the one with the median requests/s (the lower one of two). */
    static String median(List<Row> rounds) {
      List<Row> sorted = new ArrayList<>(rounds);
      sorted.sort(Comparator.comparingDouble(Row::rate));
      return sorted.get((sorted.size() - 1) / 2).text();
    }
  }

  /**
   * A native llama-server on the tiny model, for its {@code /health} as another server's floor
   * on this box; absent, with the reason, without {@code -Dllama.cpp.bin} / {@code LLAMA_CPP_BIN}.
   */
  private static final class LlamaServerHealth implements AutoCloseable {
    private final LlamaServerProcess process;
    private final String url;
    private final String absence;
    private final String version;

    private LlamaServerHealth(LlamaServerProcess process, String url, String absence, String version) {
      this.process = process;
      this.url = url;
      this.absence = absence;
      this.version = version;
    }

    static LlamaServerHealth start(Path model) throws IOException, InterruptedException {
      String dir = Optional.ofNullable(System.getProperty("llama.cpp.bin")).orElse(System.getenv("LLAMA_CPP_BIN"));
      if (dir == null || dir.isBlank()) {
        return new LlamaServerHealth(null, null, "no -Dllama.cpp.bin=DIR or LLAMA_CPP_BIN names a llama.cpp build",
            "llama-server absent");
      }
      Path bin = Path.of(dir);
      if (!Files.isExecutable(bin.resolve("llama-server"))) {
        return new LlamaServerHealth(null, null, "no executable llama-server in " + dir, "llama-server absent");
      }
      Path log = Path.of("target", "frontdoor-llama-server.log").toAbsolutePath();
      try {
        LlamaServerProcess server = LlamaServerProcess.start(bin, model, log, Duration.ofMinutes(2), "-t", "2", "-c",
            "512", "-np", "1");
        return new LlamaServerHealth(server, "http://127.0.0.1:" + server.port() + "/health", null,
            "llama-server " + LlamaServerProcess.version(bin));
      } catch (IllegalStateException e) {
        return new LlamaServerHealth(null, null, e.getMessage(), "llama-server failed");
      }
    }

    Optional<String> url() {
      return Optional.ofNullable(url);
    }

    String absence() {
      return absence;
    }

    String version() {
      return version;
    }

    @Override
    public void close() throws InterruptedException {
      if (process != null) {
        process.close();
      }
    }
  }

  /** Sends the request twice: the model answers the first, the cache the second. */
  private static void prime(String base) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(BODY)).build();
    for (String expected : new String[] {"edge", "cache"}) {
      HttpResponse<String> reply = client.send(request, HttpResponse.BodyHandlers.ofString());
      String route = reply.headers().firstValue("x-infermesh-route").orElse("(none)");
      if (reply.statusCode() != 200 || !route.equals(expected)) {
        throw new IllegalStateException("priming: expected 200 from " + expected + ", got " + reply.statusCode()
            + " from " + route + ": " + reply.body());
      }
    }
  }

  private static double cacheHits(EdgeAgent agent) {
    Counter hits = agent.registry().find("infermesh.edge.cache.requests").tag("result", "hit").counter();
    return hits == null ? 0 : hits.count();
  }

  private static String gc() {
    List<String> names = new ArrayList<>();
    ManagementFactory.getGarbageCollectorMXBeans().forEach(b -> names.add(b.getName()));
    return "GC " + String.join("/", names) + ", max heap "
        + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB";
  }

  private static Path onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** One wrk run and what its {@code --latency} report says. */
  static final class Wrk {
    private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern TOTAL = Pattern.compile("(\\d+) requests in");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern MAX = Pattern.compile("Latency\\s+\\S+\\s+\\S+\\s+(\\S+)");

    private static final Pattern TIMES = Pattern.compile("(\\d+)m([0-9.]+)s (\\d+)m([0-9.]+)s\\s*$");

    /** wrk's report, and the CPU time (user and system) wrk itself used. */
    record Result(double requestsPerSecond, long requests, long non2xx, String p50, String p90, String p99,
        String max, long cpuNanos) {}

    static Result run(Path wrk, Path script, String url, int connections, int seconds)
        throws IOException, InterruptedException {
      // bash's `times` prints, last, the user and system time its children (wrk) used
      List<String> command = new ArrayList<>(List.of("bash", "-c", "\"$0\" \"$@\" && times", wrk.toString(),
          "-t" + Math.min(2, connections),
          "-c" + connections, "-d" + seconds + "s", "--latency", "--timeout", "10s"));
      if (script != null) {
        command.addAll(List.of("-s", script.toString()));
      }
      command.add(url);
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException("wrk failed: " + out);
      }
      return new Result(Double.parseDouble(find(RATE, out)), Long.parseLong(find(TOTAL, out)),
          NON_2XX.matcher(out).find() ? Long.parseLong(find(NON_2XX, out)) : 0,
          percentile(out, "50%"), percentile(out, "90%"), percentile(out, "99%"), find(MAX, out), cpuNanos(out));
    }

    private static long cpuNanos(String out) {
      Matcher m = TIMES.matcher(out);
      if (!m.find()) {
        throw new IllegalStateException("no `times` line after wrk's report:\n" + out);
      }
      return Math.round((Long.parseLong(m.group(1)) * 60 + Double.parseDouble(m.group(2))
          + Long.parseLong(m.group(3)) * 60 + Double.parseDouble(m.group(4))) * 1e9);
    }

    private static String percentile(String out, String which) {
      return find(Pattern.compile("^\\s+" + Pattern.quote(which) + "\\s+(\\S+)", Pattern.MULTILINE), out);
    }

    private static String find(Pattern pattern, String out) {
      Matcher m = pattern.matcher(out);
      if (!m.find()) {
        throw new IllegalStateException("unexpected wrk output (" + pattern + "):\n" + out);
      }
      return m.group(1);
    }
  }
}
