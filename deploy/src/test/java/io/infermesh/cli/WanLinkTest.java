package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Edge and core across a WAN: the core runs as its own JVM ({@code infermesh core}) in a network
 * namespace of its own, the edge in this JVM, and every packet between them crosses a {@link
 * WanLink} that delays, drops, and then partitions. Streaming and non-streaming requests go
 * through the edge's HTTP API the whole time; the test prints the figures (prefixed {@code WAN})
 * and requires that no request is lost or hangs, that the edge degrades during the partition and
 * escalates again after the heal.
 *
 * <p>Needs root, {@code ip}, {@code ethtool} and {@code python3} (CI has them); elsewhere it is
 * skipped with a message saying what is missing, never silently. About a minute.
 */
class WanLinkTest {
  private static final Duration DELAY = Duration.ofMillis(40);
  private static final Duration JITTER = Duration.ofMillis(10);
  private static final double LOSS = 0.01;
  /** The edge's escalation deadline: what a WAN deployment would set instead of the 60 s default. */
  private static final Duration ESCALATION_TIMEOUT = Duration.ofSeconds(10);
  /** How long the edge's circuit stays open before trial calls (the default). */
  private static final Duration OPEN_FOR = Duration.ofSeconds(5);
  /** A request still unanswered after this is hung: the deadline plus time for the local fallback. */
  private static final Duration HUNG = ESCALATION_TIMEOUT.plusSeconds(10);
  private static final Duration PHASE_LIMIT = Duration.ofSeconds(35);
  private static final int CORE_PORT = 9443;
  private static final int WORKERS = 3;

  private static Path dir;
  private static WanLink link;
  private static Process core;
  private static EdgeAgent edge;
  private static final List<String> coreOutput = new CopyOnWriteArrayList<>();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    Optional<String> unavailable = WanLink.unavailableReason();
    if (unavailable.isPresent()) {
      String message = "WanLinkTest SKIPPED: " + unavailable.get() + ". This test needs root with iproute2, ethtool"
          + " and python3 (as CI runs it); the WAN behaviour (delay, loss, partition, heal) is NOT tested here.";
      System.out.println(message);
      System.err.println(message);
      // CI runs as root and installs what the test needs (.ci/run): there, a missing piece is a
      // failure, never a skip, so the feature is always tested where it counts.
      if ("true".equals(System.getenv("CI"))) {
        throw new AssertionError(message.replace("SKIPPED", "cannot run in CI"));
      }
      Assumptions.abort(message);
    }
    dir = Files.createTempDirectory("wan-link");
    link = WanLink.create(dir);
    Path certs = dir.resolve("certs");
    CertificateAuthority ca = CertificateAuthority.create("infermesh.local", Duration.ofDays(30), Clock.systemUTC());
    ca.issue(LeafRequest.builder(Role.CORE, "wan", "core-0").ipAddress(link.coreAddress())
        .validity(Duration.ofDays(1)).build()).writeTo(certs, true);
    ca.issue(LeafRequest.builder(Role.EDGE, "wan", "edge-0").validity(Duration.ofDays(1)).build()).writeTo(certs, true);
    Path models = dir.resolve("models");
    Path coreModel = TinyModels.write(TinyModelSpec.core(GgmlType.F32), models);
    Path edgeModel = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), models);
    startCore(certs, coreModel);
    Escalation escalation = Escalation.builder().target(link.coreAddress() + ":" + CORE_PORT).tls(certs, "edge-0")
        .timeout(ESCALATION_TIMEOUT).circuit(50, 10, OPEN_FOR).build();
    EdgeConfig config = EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().path(edgeModel).contextSize(512).threads(1).parallel(2)
            .defaultMaxTokens(16).build())
        .withHttpPort(0)
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withAdmission(new EdgeConfig.Admission(64, Duration.ofSeconds(1), Duration.ofMinutes(1)))
        .withEscalation(escalation);
    edge = EdgeAgent.builder(config).start();
    edge.awaitModel(Duration.ofMinutes(1));
  }

  private static void startCore(Path certs, Path model) throws Exception {
    Path yaml = Files.writeString(dir.resolve("core.yaml"), """
        node: {name: core-0, region: wan}
        grpc: {port: %d}
        tls: {dir: %s, name: core-0}
        model: {name: tiny-core, path: %s, device: cpu}
        engine: {threads: 1}
        metrics: {port: -1}
        """.formatted(CORE_PORT, certs, model));
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    core = new ProcessBuilder(link.inCoreNamespace(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-XX:+UseSerialGC",
            "-cp", classpath, Main.class.getName(), "core", "--config", yaml.toString())))
        .redirectErrorStream(true)
        .start();
    Thread reader = new Thread(() -> copyLines(core.getInputStream()), "wan-core-output");
    reader.setDaemon(true);
    reader.start();
    await("the core in " + link.coreNamespace() + " to load its model").atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> !core.isAlive() || coreOutput.stream().anyMatch(l -> l.startsWith("serving tiny-core")));
    assertThat(core.isAlive()).as("the core process: %s", String.join("\n", coreOutput)).isTrue();
  }

  private static void copyLines(InputStream in) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        coreOutput.add(line);
      }
    } catch (IOException e) {
      coreOutput.add("(output closed: " + e + ")");
    }
  }

  @AfterAll
  static void stop() {
    if (edge != null) {
      edge.close();
    }
    if (core != null) {
      core.destroy();
      try {
        if (!core.waitFor(10, TimeUnit.SECONDS)) {
          core.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (link != null) {
      link.close();
    }
  }

  @Test
  void wan_delayLossThenPartitionThenHeal_losesAndHangsNothing_degradesAndResumesEscalating() throws Exception {
    // 1. A clean link, then 40 ms ± 10 ms and 1 % loss each way: one request at a time, to see what the WAN adds.
    // Interleaved request by request, so that the core warming up and the machine's load hit both alike.
    link.impair(Duration.ZERO, Duration.ZERO, 0);
    List<Outcome> warmUp = sequential(12);
    List<Double> cleanRtts = new ArrayList<>();
    List<Double> wanRtts = new ArrayList<>();
    List<Outcome> clean = new ArrayList<>();
    List<Outcome> wan = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      boolean stream = i % 2 == 1;
      link.impair(Duration.ZERO, Duration.ZERO, 0);
      cleanRtts.add(connectTime());
      clean.add(send(stream, "clean " + i));
      link.impair(DELAY, JITTER, LOSS);
      wanRtts.add(connectTime());
      wan.add(send(stream, "wan " + i));
    }
    double cleanRtt = medianMillis(cleanRtts);
    double wanRtt = medianMillis(wanRtts);

    // 2. Load from a few clients, a partition, then a heal.
    Traffic traffic = new Traffic();
    traffic.start();
    long partitionAt;
    long healAt;
    try {
      await().atMost(Duration.ofSeconds(20)).until(() -> traffic.done().size() >= 6);
      partitionAt = System.nanoTime();
      link.partition();
      // degraded promptly: a request sent during the partition answered locally without waiting out a deadline
      awaitOutcome(traffic, o -> o.startedAt() > partitionAt && o.route().equals("edge-degraded")
          && o.millis() < 2_000);
      healAt = System.nanoTime();
      link.heal();
      awaitOutcome(traffic, o -> o.startedAt() > healAt && o.route().equals("core"));
      awaitOutcome(traffic, o -> o.startedAt() > healAt && o.route().equals("core") && o.streamed());
    } finally {
      traffic.stop();
    }
    List<Outcome> all = new ArrayList<>(warmUp);
    all.addAll(clean);
    all.addAll(wan);
    all.addAll(traffic.done());

    // 3. The figures.
    long lost = all.stream().filter(o -> !o.ok()).count();
    long hung = all.stream().filter(Outcome::hung).count();
    double firstDegraded = firstAfter(traffic.done(), partitionAt, o -> o.route().startsWith("edge"));
    double promptlyDegraded = firstAfter(traffic.done(), partitionAt,
        o -> o.startedAt() > partitionAt && o.route().equals("edge-degraded") && o.millis() < 2_000);
    double resumed = firstAfter(traffic.done(), healAt, o -> o.startedAt() > healAt && o.route().equals("core"));
    double cleanWhole = medianMillis(millis(clean, false, o -> o.millis()));
    double wanWhole = medianMillis(millis(wan, false, o -> o.millis()));
    double cleanFirst = medianMillis(millis(clean, true, Outcome::firstByteMillis));
    double wanFirst = medianMillis(millis(wan, true, Outcome::firstByteMillis));
    List<Outcome> duringPartition = traffic.done().stream()
        .filter(o -> o.endedAt() > partitionAt && o.startedAt() < healAt).toList();
    String wire = link.stats();
    print("link: one-way delay %d ms ± %d ms and %.0f %% loss each way (userspace netem, see WanLink); wire %s",
        DELAY.toMillis(), JITTER.toMillis(), LOSS * 100, wire);
    print("RTT (TCP connect, median): clean %.2f ms, WAN %.1f ms", cleanRtt, wanRtt);
    print("escalated, non-streamed, whole answer (median): clean %.1f ms, WAN %.1f ms: +%.1f ms = %.2f RTT",
        cleanWhole, wanWhole, wanWhole - cleanWhole, (wanWhole - cleanWhole) / (wanRtt - cleanRtt));
    print("escalated, streamed, first byte (median): clean %.1f ms, WAN %.1f ms: +%.1f ms = %.2f RTT",
        cleanFirst, wanFirst, wanFirst - cleanFirst, (wanFirst - cleanFirst) / (wanRtt - cleanRtt));
    print("routes on the WAN: %s", routes(wan));
    print("partition: first answer from the edge after %.1f s; promptly degraded (sent during the partition,"
        + " answered edge-degraded in < 2 s) after %.1f s", firstDegraded, promptlyDegraded);
    print("during the partition: %d requests, routes %s, slowest %.1f s", duringPartition.size(),
        routes(duringPartition), duringPartition.stream().mapToLong(Outcome::millis).max().orElse(0) / 1000.0);
    print("heal: escalating again (route core) %.1f s after the heal", resumed);
    print("requests: %d, lost %d, hung (over %d s) %d", all.size(), lost, HUNG.toSeconds(), hung);
    all.stream().filter(o -> !o.ok() || o.hung()).limit(10).forEach(o -> print("  failed: %s", o));

    assertThat(lost).as("requests lost").isZero();
    assertThat(firstDegraded).as("the first local answer comes at the escalation deadline, not later")
        .isLessThan(ESCALATION_TIMEOUT.toSeconds() + 3);
    assertThat(resumed).as("escalating again within the circuit's open time after the heal, not after TCP's"
        + " retransmission backoff on the dead connection").isLessThan(OPEN_FOR.toSeconds() + 4);
    assertThat(hung).as("requests hung").isZero();
    assertThat(wan).as("on a lossy WAN every request still reaches the core").allMatch(o -> o.route().equals("core"));
    assertThat(all).as("streams all end with [DONE]").filteredOn(Outcome::streamed).allMatch(Outcome::ok);
  }

  private static void awaitOutcome(Traffic traffic, Predicate<Outcome> what) {
    await().atMost(PHASE_LIMIT).pollInterval(Duration.ofMillis(20))
        .until(() -> traffic.done().stream().anyMatch(what));
  }

  /** Seconds from {@code since} to the end of the first outcome matching {@code what}. */
  private static double firstAfter(List<Outcome> outcomes, long since, Predicate<Outcome> what) {
    long first = outcomes.stream().filter(o -> o.endedAt() > since).filter(what).mapToLong(Outcome::endedAt).min()
        .orElseThrow();
    return (first - since) / 1e9;
  }

  private static String routes(List<Outcome> outcomes) {
    Map<String, Long> counts = new TreeMap<>();
    for (Outcome o : outcomes) {
      counts.merge(o.route() + (o.reason().isEmpty() ? "" : "/" + o.reason()), 1L, Long::sum);
    }
    return counts.toString();
  }

  private static List<Double> millis(List<Outcome> outcomes, boolean streamed,
      ToDoubleFunction<Outcome> metric) {
    return outcomes.stream().filter(o -> o.streamed() == streamed && o.route().equals("core"))
        .map(metric::applyAsDouble).toList();
  }

  private static double medianMillis(List<Double> values) {
    assertThat(values).as("samples").isNotEmpty();
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  /** Milliseconds to open a TCP connection to the core: SYN, SYN-ACK, one round trip. */
  private static double connectTime() throws IOException {
    long t0 = System.nanoTime();
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(link.coreAddress(), CORE_PORT), 5_000);
      return (System.nanoTime() - t0) / 1e6;
    }
  }

  /** {@code n} requests one after another, alternately whole and streamed. */
  private static List<Outcome> sequential(int n) {
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      outcomes.add(send(i % 2 == 1, "sequential " + i));
    }
    return outcomes;
  }

  private static void print(String format, Object... args) {
    System.out.println("WAN " + String.format(Locale.ROOT, format, args));
  }

  /** One request through the edge to the core (model {@code core}), never throwing: failures are outcomes. */
  private static Outcome send(boolean stream, String prompt) {
    String body = "{\"model\": \"core\", \"max_tokens\": 8, \"stream\": " + stream + ", \"messages\": [{\"role\": "
        + "\"user\", \"content\": \"" + prompt + "\"}]}";
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + edge.httpPort()
            + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .timeout(HUNG)
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
    long start = System.nanoTime();
    try {
      HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
      String route = response.headers().firstValue("x-infermesh-route").orElse("");
      String reason = response.headers().firstValue("x-infermesh-reason").orElse("");
      long firstByte = 0;
      StringBuilder text = new StringBuilder();
      try (InputStream in = response.body()) {
        byte[] buffer = new byte[8192];
        for (int read; (read = in.read(buffer)) >= 0; ) {
          if (firstByte == 0 && read > 0) {
            firstByte = System.nanoTime();
          }
          text.append(new String(buffer, 0, read, StandardCharsets.UTF_8));
        }
      }
      String all = text.toString();
      int midstream = all.indexOf(": x-infermesh-route=");
      if (midstream >= 0) { // the core failed mid-stream: the comment line names the new route
        String line = all.substring(midstream + 2, all.indexOf('\n', midstream));
        for (String part : line.split("[ ;,]+")) {
          if (part.startsWith("x-infermesh-route=")) {
            route = part.substring("x-infermesh-route=".length());
          } else if (part.startsWith("x-infermesh-reason=")) {
            reason = part.substring("x-infermesh-reason=".length());
          }
        }
      }
      boolean ok = response.statusCode() == 200 && (stream ? all.contains("data: [DONE]") : all.contains("\"choices\""));
      long end = System.nanoTime();
      return new Outcome(stream, start, firstByte == 0 ? end : firstByte, end, response.statusCode(), route, reason,
          ok, ok ? "" : all.substring(0, Math.min(200, all.length())));
    } catch (IOException e) {
      return new Outcome(stream, start, System.nanoTime(), System.nanoTime(), 0, "", "", false, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(stream, start, System.nanoTime(), System.nanoTime(), 0, "", "", false, "interrupted");
    }
  }

  /**
   * What one request got.
   *
   * @param startedAt {@link System#nanoTime()} when it was sent
   * @param firstByteAt when the first body bytes arrived
   * @param endedAt when the last arrived (or it failed)
   */
  record Outcome(boolean streamed, long startedAt, long firstByteAt, long endedAt, int status, String route,
      String reason, boolean ok, String problem) {
    long millis() {
      return (endedAt - startedAt) / 1_000_000;
    }

    double firstByteMillis() {
      return (firstByteAt - startedAt) / 1e6;
    }

    boolean hung() {
      return endedAt - startedAt >= HUNG.toNanos() || problem.contains("HttpTimeoutException");
    }
  }

  /** {@link #WORKERS} clients sending requests back to back (alternately whole and streamed) until stopped. */
  private static final class Traffic {
    // A bound on the loop, not a pace: while the circuit is open the edge answers locally in a few
    // milliseconds, so 2,000 could run out before the heal (seen in CI: the traffic stopped, and the
    // wait for an escalation after the heal timed out). The phases' time limits bound it too.
    private static final int MAX_REQUESTS = 100_000;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Outcome> done = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    void start() {
      for (int w = 0; w < WORKERS; w++) {
        int worker = w;
        Thread t = new Thread(() -> {
          for (int i = 0; running.get() && done.size() < MAX_REQUESTS; i++) {
            done.add(send((i + worker) % 2 == 1, "worker " + worker + " request " + i));
          }
        }, "wan-client-" + w);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }

    List<Outcome> done() {
      return done;
    }

    /** Stops sending and waits for the requests in flight (each is bounded by {@link #HUNG}). */
    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(HUNG.plusSeconds(5).toMillis());
      }
    }
  }
}
