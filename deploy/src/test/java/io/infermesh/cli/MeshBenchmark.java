package io.infermesh.cli;

import io.grpc.ManagedChannel;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StreamEvent;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The escalation hop's added latency: edge→core→edge minus the core's own time. The same request
 * is sent straight to the core (gRPC, mTLS, as an edge: the core's own time, the baseline) and
 * through the edge with model "core" in several ways, interleaved request by request so that drift (JIT,
 * GC, the core's threads) hits every path alike:
 *
 * <ul>
 *   <li>{@code in-process}: the edge's {@code CompletionService} called directly (router, escalation
 *       client, stream; no HTTP);
 *   <li>{@code http}: the edge's HTTP API, non-streaming, over a keep-alive raw socket;
 *   <li>{@code sse}: the same, streaming, read up to {@code [DONE]};
 *   <li>{@code jdk-client}: non-streaming through {@code java.net.http.HttpClient} (HTTP/1.1), to show
 *       what that client adds on its own;
 *   <li>{@code local in-process} and {@code local http}: model "edge", answered by the edge's own
 *       model, through the service and through HTTP: what HTTP in and out costs on this machine
 *       while the core shares it, with no core work at all.
 * </ul>
 *
 * <p>Each line gives a path's p50/p99, the difference to its baseline's p50/p99 ("added": the core
 * direct for the escalated paths, local in-process for local http) and the ratio of the p50s, at
 * concurrency 1 and 32. Not part of {@code verify} (the name does not match
 * surefire's patterns):
 *
 * <pre>./mvnw -o -pl deploy -am test -Dtest=MeshBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * grep HOP deploy/target/surefire-reports/io.infermesh.cli.MeshBenchmark-output.txt</pre>
 *
 * <p>System properties: {@code mesh.bench.requests.c1} and {@code mesh.bench.requests.c32}, the
 * requests of each measured round over all paths (2000 and 4000; 0 skips the round: on a noisy
 * machine a few thousand at concurrency 1 keep the medians within about 0.2 ms); {@code
 * mesh.bench.max-tokens}, the answer's length (2: the hop's fixed cost; with longer answers the
 * per-token cost shows, and so does the core's own variance).
 */
class MeshBenchmark {
  private static final int MAX_TOKENS = Integer.getInteger("mesh.bench.max-tokens", 2);
  private static final Map<Integer, Integer> REQUESTS = Map.of(
      1, Integer.getInteger("mesh.bench.requests.c1", 2000), 32, Integer.getInteger("mesh.bench.requests.c32", 4000));
  private static final String PROMPT = "Hello there, how are you?";
  /** What each path is compared with; the paths not named here are baselines. */
  private static final Map<String, String> BASELINES = Map.of("in-process", "core direct", "http", "core direct",
      "sse", "core direct", "jdk-client", "core direct", "local http", "local in-process");

  @Test
  void escalationHop_addedLatency() throws Exception {
    Path dir = Files.createTempDirectory("mesh-bench");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    List<AutoCloseable> clients = Collections.synchronizedList(new ArrayList<>());
    try (MeshUp mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)))) {
      MeshCredentialFiles files = mesh.ca().issue(LeafRequest.builder(Role.EDGE, MeshUp.REGION, "bench")
          .dnsName("localhost").ipAddress("127.0.0.1").validity(Duration.ofDays(1)).build())
          .writeTo(dir.resolve("bench"), true);
      try (MeshTls tls = MeshTls.builder(files).build()) {
        ManagedChannel ch = MeshChannels.newChannel("127.0.0.1:" + mesh.corePort(), tls,
            ExpectedIdentity.roles(Role.CORE));
        InferenceGrpc.InferenceBlockingStub core = InferenceGrpc.newBlockingStub(ch);
        GenerateRequest req = GenerateRequest.newBuilder().setModel("auto")
            .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent(PROMPT)))
            .setSampling(SamplingParams.newBuilder().setMaxTokens(MAX_TOKENS).setTemperature(0f).setTopP(1f)).build();
        int port = mesh.edge().httpPort();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String body = "{\"model\":\"core\",\"max_tokens\":" + MAX_TOKENS + ",\"temperature\":0,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}";
        String streamBody = body.substring(0, body.length() - 1) + ",\"stream\":true}";
        byte[] whole = RawHttp.post(body);
        byte[] streamed = RawHttp.post(streamBody);
        // the same request answered by the edge's own model (another prompt, as the response cache
        // does not key on the model alias): HTTP against in-process with no core involved
        String localBody = body.replace("\"model\":\"core\"", "\"model\":\"edge\"")
            .replace(PROMPT, PROMPT + " (local)");
        byte[] local = RawHttp.post(localBody);
        URI uri = URI.create("http://127.0.0.1:" + port + "/v1/chat/completions");
        ThreadLocal<RawHttp> raw = ThreadLocal.withInitial(() -> {
          RawHttp c = RawHttp.connect(port);
          clients.add(c);
          return c;
        });
        Callable<Long> direct = () -> {
          long t0 = System.nanoTime();
          core.withDeadlineAfter(30, TimeUnit.SECONDS).generate(req).forEachRemaining(c -> {});
          return System.nanoTime() - t0;
        };
        Callable<Long> viaHttp = () -> {
          long t0 = System.nanoTime();
          raw.get().send(whole, false, "core");
          return System.nanoTime() - t0;
        };
        Callable<Long> viaSse = () -> {
          long t0 = System.nanoTime();
          raw.get().send(streamed, true, "core");
          return System.nanoTime() - t0;
        };
        Callable<Long> viaJdkClient = () -> {
          long t0 = System.nanoTime();
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
          long t = System.nanoTime() - t0;
          if (r.statusCode() != 200 || !"core".equals(r.headers().firstValue("x-infermesh-route").orElse(""))) {
            throw new IllegalStateException("not served by the core: " + r.statusCode() + " " + r.body());
          }
          return t;
        };
        CompletionService service = mesh.edge().service();
        Callable<Long> edgeService = inProcess(service, "core", PROMPT, Route.CORE);
        Callable<Long> localService = inProcess(service, "edge", PROMPT + " (local)", Route.EDGE, Route.CACHE);
        Callable<Long> localHttp = () -> {
          long t0 = System.nanoTime();
          raw.get().send(local, false, "edge", "cache");
          return System.nanoTime() - t0;
        };
        Map<String, Callable<Long>> paths = new LinkedHashMap<>();
        paths.put("core direct", direct);
        paths.put("in-process", edgeService);
        paths.put("http", viaHttp);
        paths.put("sse", viaSse);
        paths.put("jdk-client", viaJdkClient);
        paths.put("local in-process", localService);
        paths.put("local http", localHttp);
        List<String> names = List.copyOf(paths.keySet());
        for (int concurrency : new int[] {1, 32}) {
          int perWorker = REQUESTS.get(concurrency) / concurrency;
          if (perWorker == 0) {
            continue;
          }
          run(names, paths, concurrency, 40); // warm-up
          System.out.printf(Locale.ROOT, "HOP concurrency %2d: max_tokens %d, load average %.2f at the start%n",
              concurrency, MAX_TOKENS, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
          Map<String, long[]> times = run(names, paths, concurrency, perWorker);
          for (String name : names) {
            long[] t = times.get(name);
            String baseline = BASELINES.get(name);
            if (baseline == null) {
              System.out.printf(Locale.ROOT, "HOP concurrency %2d: %-16s p50 %7.3f ms p99 %7.3f ms (n=%d; a baseline)%n",
                  concurrency, name, ms(p(t, 50)), ms(p(t, 99)), t.length);
              continue;
            }
            long[] base = times.get(baseline);
            System.out.printf(Locale.ROOT, "HOP concurrency %2d: %-16s p50 %7.3f ms p99 %7.3f ms | added to %s: p50 %6.3f"
                + " ms p99 %7.3f ms, p50 ratio %.3f (n=%d)%n", concurrency, name, ms(p(t, 50)), ms(p(t, 99)), baseline,
                ms(p(t, 50) - p(base, 50)), ms(p(t, 99) - p(base, 99)), p(t, 50) / (double) p(base, 50), t.length);
          }
        }
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      for (AutoCloseable c : clients) {
        c.close();
      }
    }
  }

  /** One request through the edge's {@code CompletionService}, read to its end; checks the route. */
  private static Callable<Long> inProcess(CompletionService service, String model, String prompt, Route... routes) {
    CompletionRequest request = new CompletionRequest("", Operation.CHAT, model,
        List.of(new io.infermesh.edge.engine.ChatMessage(io.infermesh.edge.engine.Role.USER, prompt, null)), null,
        new SamplingRequest(MAX_TOKENS, 0.0, 1.0, null, null, List.of()), Map.of(), Optional.empty());
    return () -> {
      long t0 = System.nanoTime();
      try (CompletionStream stream = service.open(request, Tenant.ANONYMOUS)) {
        StreamEvent e;
        do {
          e = stream.next();
        } while (e instanceof StreamEvent.Delta);
        if (!(e instanceof StreamEvent.Done) || !List.of(routes).contains(stream.served().route().route())) {
          throw new IllegalStateException("expected route " + List.of(routes) + ", got " + e + " " + stream.served());
        }
      }
      return System.nanoTime() - t0;
    };
  }

  /**
   * {@code concurrency} workers, each sending {@code perWorker} requests that rotate through the
   * paths (a worker's k-th request takes path {@code (k + worker) % paths}), so every path sees the
   * same load and the same drift. Returns each path's latencies, sorted.
   */
  private static Map<String, long[]> run(List<String> names, Map<String, Callable<Long>> paths, int concurrency,
      int perWorker) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    try {
      List<Future<long[][]>> workers = new ArrayList<>();
      for (int w = 0; w < concurrency; w++) {
        int worker = w;
        workers.add(pool.submit(() -> {
          long[][] out = new long[names.size()][perWorker / names.size() + 1];
          int[] filled = new int[names.size()];
          for (int k = 0; k < perWorker; k++) {
            int path = (k + worker) % names.size();
            out[path][filled[path]++] = paths.get(names.get(path)).call();
          }
          for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOf(out[i], filled[i]);
          }
          return out;
        }));
      }
      Map<String, long[]> times = new LinkedHashMap<>();
      for (String name : names) {
        times.put(name, new long[0]);
      }
      for (Future<long[][]> f : workers) {
        long[][] out = f.get(10, TimeUnit.MINUTES);
        for (int i = 0; i < names.size(); i++) {
          times.put(names.get(i), concat(times.get(names.get(i)), out[i]));
        }
      }
      times.values().forEach(Arrays::sort);
      return times;
    } finally {
      pool.shutdownNow();
    }
  }

  private static long[] concat(long[] a, long[] b) {
    long[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  private static long p(long[] sorted, int q) {
    return sorted[Math.max(0, (int) Math.ceil(q / 100.0 * sorted.length) - 1)];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /**
   * A minimal HTTP/1.1 keep-alive client (TCP_NODELAY, one request at a time): reads a response with
   * a Content-Length, or a chunked SSE body up to {@code [DONE]}, and checks the route header.
   * Confined to one thread.
   */
  private static final class RawHttp implements AutoCloseable {
    private static final byte[] DONE = "data: [DONE]".getBytes(StandardCharsets.US_ASCII);
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawHttp(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new BufferedInputStream(socket.getInputStream(), 65536);
      this.out = socket.getOutputStream();
    }

    static RawHttp connect(int port) {
      try {
        Socket s = new Socket("127.0.0.1", port);
        s.setTcpNoDelay(true);
        return new RawHttp(s);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    static byte[] post(String body) {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      byte[] head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
      byte[] all = Arrays.copyOf(head, head.length + bytes.length);
      System.arraycopy(bytes, 0, all, head.length, bytes.length);
      return all;
    }

    void send(byte[] request, boolean sse, String... expectedRoutes) throws IOException {
      out.write(request);
      out.flush();
      int status = -1;
      int length = -1;
      boolean chunked = false;
      String route = null;
      for (String line; !(line = readLine()).isEmpty(); ) {
        String lower = line.toLowerCase(Locale.ROOT);
        if (status < 0) {
          status = Integer.parseInt(line.split(" ")[1]);
        } else if (lower.startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).strip());
        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
          chunked = true;
        } else if (lower.startsWith("x-infermesh-route:")) {
          route = line.substring(18).strip();
        }
      }
      byte[] body = chunked ? readChunked() : in.readNBytes(length);
      // a stream that ended before its first flush may come whole, with a Content-Length
      if (status != 200 || !List.of(expectedRoutes).contains(route) || (sse && indexOf(body, DONE) < 0)) {
        throw new IllegalStateException("expected route " + List.of(expectedRoutes) + ", got " + status + " " + route + " "
            + new String(body, StandardCharsets.UTF_8));
      }
    }

    private byte[] readChunked() throws IOException {
      ByteArrayOutputStream body = new ByteArrayOutputStream(1024);
      while (true) {
        String size = readLine();
        int semicolon = size.indexOf(';');
        int n = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).strip(), 16);
        if (n == 0) {
          while (!readLine().isEmpty()) {
            // trailers
          }
          return body.toByteArray();
        }
        body.write(in.readNBytes(n));
        readLine();
      }
    }

    private String readLine() throws IOException {
      StringBuilder line = new StringBuilder(64);
      for (int b; (b = in.read()) != '\n'; ) {
        if (b < 0) {
          throw new IOException("connection closed");
        }
        if (b != '\r') {
          line.append((char) b);
        }
      }
      return line.toString();
    }

    private static int indexOf(byte[] hay, byte[] needle) {
      outer:
      for (int i = 0; i + needle.length <= hay.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (hay[i + j] != needle[j]) {
            continue outer;
          }
        }
        return i;
      }
      return -1;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
