package io.infermesh.edge.http;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
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
import java.util.List;
import java.util.Locale;
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
 * too, as the floor of the HTTP stack itself (Jetty and Javalin with nothing behind them).
 *
 * <pre>
 * apt-get install wrk    # once
 * ./mvnw -q -o -pl edge-agent -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp edge-agent/target/test-classes:edge-agent/target/classes:$(cat edge-agent/target/cp.txt) \
 *     io.infermesh.edge.http.FrontDoorWrkBenchmark [seconds per run, default 10]
 * </pre>
 *
 * Prints a table of requests/s and latency percentiles (wrk's), the agent's CPU time and allocation
 * per request (steadier than requests/s on a shared machine), and the load average. Not run by
 * {@code verify}. Without wrk on the {@code PATH} it says so and exits with status 2. Run from the
 * repository root (the tiny model is written under {@code target/tiny-models}).
 */
final class FrontDoorWrkBenchmark {
  private static final String BODY = "{\"model\": \"tiny-edge\", \"messages\": [{\"role\": \"user\", \"content\":"
      + " \"What is the capital of France?\"}], \"max_tokens\": 16, \"temperature\": 0}";
  private static final int[] CONNECTIONS = {1, 32, 256};

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
    Path script = Files.createTempFile("frontdoor-wrk", ".lua");
    Files.writeString(script, "wrk.method = \"POST\"\n"
        + "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        + "wrk.body = '" + BODY + "'\n");
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config()).start()) {
      agent.awaitModel(Duration.ofMinutes(2)); // loaded on the agent's own loader thread, which exits
      String base = "http://127.0.0.1:" + agent.httpPort();
      prime(base);
      List<String> rows = new ArrayList<>();
      // warm-up: JIT and connections, not reported
      Wrk.run(wrk, script, base + "/v1/chat/completions", 32, Math.max(2, seconds / 2));
      Wrk.run(wrk, null, base + "/healthz", 32, Math.max(2, seconds / 2));
      for (int c : CONNECTIONS) {
        double hitsBefore = cacheHits(agent);
        Costs costs = Costs.start();
        Wrk.Result r = Wrk.run(wrk, script, base + "/v1/chat/completions", c, seconds);
        String cost = costs.per(r.requests());
        double hits = cacheHits(agent) - hitsBefore;
        if (r.non2xx() > 0 || hits < r.requests()) {
          throw new IllegalStateException("not every answer was a cache hit at c=" + c + ": " + r.requests()
              + " requests, " + (long) hits + " cache hits, " + r.non2xx() + " non-2xx");
        }
        rows.add(row("chat completion, cache hit", c, r, cost));
      }
      Costs costs = Costs.start();
      Wrk.Result health = Wrk.run(wrk, null, base + "/healthz", 32, seconds);
      rows.add(row("/healthz (the HTTP floor)", 32, health, costs.per(health.requests())));
      OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
      System.out.printf(Locale.ROOT, "FRONTDOOR-WRK %d cores, load average %.2f, %s, wrk -t2 -d%ds --latency%n",
          os.getAvailableProcessors(), os.getSystemLoadAverage(), gc(), seconds);
      System.out.printf(Locale.ROOT, "FRONTDOOR-WRK %-28s %5s %10s %9s %9s %9s %9s %11s %10s%n",
          "path", "conns", "req/s", "p50", "p90", "p99", "max", "cpu us/req", "KiB/req");
      rows.forEach(System.out::println);
    } finally {
      Files.deleteIfExists(script);
    }
    return 0;
  }

  private static String row(String path, int connections, Wrk.Result r, String cost) {
    return String.format(Locale.ROOT, "FRONTDOOR-WRK %-28s %5d %10.0f %9s %9s %9s %9s %s", path, connections,
        r.requestsPerSecond(), r.p50(), r.p90(), r.p99(), r.max(), cost);
  }

  /**
   * What the agent's process spent per request while wrk ran: CPU time (all its threads; on a busy
   * machine this moves far less than requests/s does) and bytes allocated by its live threads.
   */
  private record Costs(long cpuNanos, long allocatedBytes) {
    static Costs start() {
      return new Costs(cpu(), allocated());
    }

    String per(long requests) {
      return String.format(Locale.ROOT, "%11.1f %10.1f", (cpu() - cpuNanos) / 1e3 / requests,
          (allocated() - allocatedBytes) / 1024.0 / requests);
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

    record Result(double requestsPerSecond, long requests, long non2xx, String p50, String p90, String p99,
        String max) {}

    static Result run(Path wrk, Path script, String url, int connections, int seconds)
        throws IOException, InterruptedException {
      List<String> command = new ArrayList<>(List.of(wrk.toString(), "-t" + Math.min(2, connections),
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
          percentile(out, "50%"), percentile(out, "90%"), percentile(out, "99%"), find(MAX, out));
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
