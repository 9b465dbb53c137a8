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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The escalation hop's added latency: the same requests sent straight to the core (gRPC, mTLS,
 * as an edge) and through the edge's HTTP API with model "core"; the difference of the
 * percentiles is what the edge adds (HTTP parse, routing, the second gRPC hop, JSON out).
 * Not part of {@code verify} (the name does not match surefire's patterns):
 *
 * <pre>./mvnw -o -pl deploy test -Dtest=MeshBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
class MeshBenchmark {
  private static final int MAX_TOKENS = 2;
  private static final String PROMPT = "Hello there, how are you?";

  @Test
  void escalationHop_addedLatency() throws Exception {
    Path dir = Files.createTempDirectory("mesh-bench");
    MeshUp.Options d = MeshUp.Options.defaults(dir);
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
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String body = "{\"model\":\"core\",\"max_tokens\":" + MAX_TOKENS + ",\"temperature\":0,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}";
        URI uri = URI.create("http://127.0.0.1:" + mesh.edge().httpPort() + "/v1/chat/completions");
        Callable<Long> direct = () -> {
          long t0 = System.nanoTime();
          core.withDeadlineAfter(30, TimeUnit.SECONDS).generate(req).forEachRemaining(c -> {});
          return System.nanoTime() - t0;
        };
        Callable<Long> viaEdge = () -> {
          long t0 = System.nanoTime();
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
          long t = System.nanoTime() - t0;
          if (r.statusCode() != 200 || !"core".equals(r.headers().firstValue("x-infermesh-route").orElse(""))) {
            throw new IllegalStateException("not served by the core: " + r.statusCode() + " " + r.body());
          }
          return t;
        };
        io.infermesh.edge.serve.CompletionService service = mesh.edge().service();
        io.infermesh.edge.serve.CompletionRequest inProcess = new io.infermesh.edge.serve.CompletionRequest("",
            io.infermesh.edge.serve.Operation.CHAT, "core",
            List.of(new io.infermesh.edge.engine.ChatMessage(io.infermesh.edge.engine.Role.USER, PROMPT, null)), null,
            new io.infermesh.edge.serve.SamplingRequest(MAX_TOKENS, 0.0, 1.0, null, null, List.of()),
            java.util.Map.of(), java.util.Optional.empty());
        Callable<Long> edgeService = () -> {
          long t0 = System.nanoTime();
          try (var stream = service.open(inProcess, io.infermesh.edge.auth.Tenant.ANONYMOUS)) {
            io.infermesh.edge.serve.StreamEvent e;
            do {
              e = stream.next();
            } while (e instanceof io.infermesh.edge.serve.StreamEvent.Delta);
            if (!(e instanceof io.infermesh.edge.serve.StreamEvent.Done)
                || stream.served().route().route() != io.infermesh.edge.route.Route.CORE) {
              throw new IllegalStateException("not served by the core: " + e + " " + stream.served());
            }
          }
          return System.nanoTime() - t0;
        };
        for (int concurrency : new int[] {1, 32}) {
          int n = concurrency == 1 ? 400 : 1600;
          run(direct, concurrency, 200);
          run(viaEdge, concurrency, 200);
          // interleave the two so drift (JIT, GC, thermal) hits both alike
          run(edgeService, concurrency, 200);
          long[] a = new long[0];
          long[] b = new long[0];
          long[] c = new long[0];
          for (int round = 0; round < 4; round++) {
            a = concat(a, run(direct, concurrency, n / 4));
            b = concat(b, run(viaEdge, concurrency, n / 4));
            c = concat(c, run(edgeService, concurrency, n / 4));
          }
          Arrays.sort(a);
          Arrays.sort(b);
          Arrays.sort(c);
          System.out.printf("HOP concurrency %2d: edge in-process (router + escalation client, no HTTP) p50 %.3f ms"
              + " p99 %.3f ms | added vs core direct p50 %.3f ms p99 %.3f ms%n", concurrency, ms(p(c, 50)),
              ms(p(c, 99)), ms(p(c, 50) - p(a, 50)), ms(p(c, 99) - p(a, 99)));
          System.out.printf("HOP concurrency %2d: core direct p50 %.3f ms p99 %.3f ms | via edge p50 %.3f ms p99 %.3f ms"
              + " | added p50 %.3f ms p99 %.3f ms (n=%d each)%n", concurrency, ms(p(a, 50)), ms(p(a, 99)),
              ms(p(b, 50)), ms(p(b, 99)), ms(p(b, 50) - p(a, 50)), ms(p(b, 99) - p(a, 99)), a.length);
        }
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static long[] run(Callable<Long> call, int concurrency, int n) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    try {
      List<Future<Long>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(call));
      }
      long[] out = new long[n];
      for (int i = 0; i < n; i++) {
        out[i] = fs.get(i).get(60, TimeUnit.SECONDS);
      }
      return out;
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
}
