package io.infermesh.edge.http;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * How much CPU a hostile request costs before it is accepted or refused (issue 11, target ≤ 50 ms).
 * Not part of {@code verify} (the class name does not end in {@code Test}); run with
 * {@code ./mvnw -o -pl edge-agent -am test -Dtest=FrontDoorBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * and read the {@code FRONTDOOR} lines of {@code target/surefire-reports/io.infermesh.edge.http.FrontDoorBenchmark-output.txt}.
 *
 * <p>Each family is a request body of at most the default {@code http.max_body_bytes} (1 MiB;
 * larger bodies are refused with 413 while being read, before any parsing). Measured in-process
 * on the request thread: parsing ({@link OpenAiRequests}) plus {@code CompletionService.open} —
 * validation, limits, and for a request that passes them the chat template, tokenization and the
 * routing decision, everything before the engine's slot — as the thread's CPU time; the worst
 * and the median of {@value #RUNS} runs after {@value #WARMUP} warm-ups. Each family is then
 * sent once over HTTP to show the status a client gets and the wall time.
 */
class FrontDoorBenchmark {
  private static final int WARMUP = 3;
  private static final int RUNS = 10;
  private static final int MAX_BODY = 1 << 20;

  private static String chat(String messages, String extra) {
    return "{\"model\":\"auto\",\"messages\":[" + messages + "],\"max_tokens\":4" + extra + "}";
  }

  private static String user(String content) {
    return "{\"role\":\"user\",\"content\":\"" + content + "\"}";
  }

  /** The pathological families, each filling up to the body limit. */
  static Map<String, String> families() {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("baseline: one short message", chat(user("Hello!"), ""));
    f.put("stop: one 1 MB stop string", chat(user("hi"), ",\"stop\":\"" + "e".repeat(MAX_BODY - 200) + "\""));
    f.put("stop: 4 stop strings at the 1 KiB bound", chat(user("hi"), ",\"stop\":[" + String.join(",",
        Collections.nCopies(4, "\"" + "e".repeat(1024) + "\"")) + "]"));
    f.put("stop: 100k-element stop array", chat(user("hi"), ",\"stop\":[" + String.join(",",
        Collections.nCopies(100_000, "\"ee\"")) + "]"));
    f.put("messages: 30k messages (1 MB)", chat(String.join(",", Collections.nCopies(30_000, user("hi"))), ""));
    f.put("messages: 2048 messages at the count bound", chat(String.join(",",
        Collections.nCopies(2048, user("hello there, how are you"))), ""));
    f.put("messages: 2048 x 500 B near the byte bound", chat(String.join(",",
        Collections.nCopies(2000, user("lorem ipsum ".repeat(41)))), ""));
    f.put("string: one 1 MB content", chat(user("a".repeat(MAX_BODY - 200)), ""));
    f.put("string: 1 MB of words", chat(user("lorem ipsum dolor sit amet ".repeat((MAX_BODY - 200) / 27)), ""));
    f.put("string: 170k unicode escapes", chat(user("\\u00e9".repeat((MAX_BODY - 200) / 6)), ""));
    f.put("string: 170k surrogate-pair escapes", chat(user("\\ud83d\\ude00".repeat((MAX_BODY - 200) / 12)), ""));
    f.put("json: 500k-deep nesting", chat(user("hi"), ",\"x\":" + "[".repeat(500_000) + "]".repeat(500_000)));
    f.put("json: 60-deep nesting (within bound)", chat(user("hi"), ",\"x\":" + "[".repeat(60) + "]".repeat(60)));
    f.put("json: 90k unknown fields", chat(user("hi"), fields(90_000, i -> "f" + i)));
    f.put("json: 16k colliding field names", chat(user("hi"), fields(1 << 14, FrontDoorBenchmark::colliding)));
    f.put("number: 1 MB of digits", chat(user("hi"), ",\"temperature\":" + "9".repeat(MAX_BODY - 200)));
    f.put("number: 99-digit integer", chat(user("hi"), ",\"seed\":" + "9".repeat(99)));
    f.put("number: 1e999999999", chat(user("hi"), ",\"top_p\":1e999999999"));
    f.put("number: 1e-46 top_p", chat(user("hi"), ",\"top_p\":1e-46"));
    f.put("content parts: 35k text parts", "{\"messages\":[{\"role\":\"user\",\"content\":[" + String.join(",",
        Collections.nCopies(35_000, "{\"type\":\"text\",\"text\":\"a\"}")) + "]}],\"max_tokens\":4}");
    return f;
  }

  private static String fields(int n, IntFunction<String> name) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append(",\"").append(name.apply(i)).append("\":0");
    }
    return b.toString();
  }

  /** Names with the same String.hashCode ("Aa" and "BB" collide; any sequence of them too). */
  private static String colliding(int i) {
    StringBuilder b = new StringBuilder();
    for (int bit = 0; bit < 14; bit++) {
      b.append((i >> bit & 1) == 0 ? "Aa" : "BB");
    }
    return b.toString();
  }

  @Test
  void hostileRequests_cpuBeforeAcceptOrReject() throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start()) {
      HttpTestClient http = new HttpTestClient(agent.httpPort());
      double worst = 0;
      String worstFamily = "";
      for (Map.Entry<String, String> family : families().entrySet()) {
        byte[] body = family.getValue().getBytes(StandardCharsets.UTF_8);
        if (body.length > MAX_BODY) {
          throw new IllegalStateException(family.getKey() + ": " + body.length + " bytes is over the body limit");
        }
        String outcome = "";
        long[] cpu = new long[RUNS];
        for (int run = -WARMUP; run < RUNS; run++) {
          long started = threads.getCurrentThreadCpuTime();
          outcome = attempt(agent, body);
          long used = threads.getCurrentThreadCpuTime() - started;
          if (run >= 0) {
            cpu[run] = used;
          }
        }
        Arrays.sort(cpu);
        double maxMs = cpu[RUNS - 1] / 1e6;
        double medianMs = cpu[RUNS / 2] / 1e6;
        if (maxMs > worst) {
          worst = maxMs;
          worstFamily = family.getKey();
        }
        long t0 = System.nanoTime();
        HttpTestClient.Reply reply = http.postBytes("/v1/chat/completions", "application/json", body);
        double httpMs = (System.nanoTime() - t0) / 1e6;
        System.out.printf(Locale.ROOT, "FRONTDOOR %-44s %8d B  cpu max %7.2f ms  median %7.2f ms  -> %s | HTTP %d in %.1f ms%n",
            family.getKey(), body.length, maxMs, medianMs, outcome, reply.status(), httpMs);
      }
      System.out.printf(Locale.ROOT, "FRONTDOOR worst case %.2f ms (%s); target 50 ms%n", worst, worstFamily);
    }
  }

  /**
   * What matching stop strings costs while generating: 256 greedy tokens on the tiny model with no
   * stop strings, and with the worst that passes validation (4 of 1 KiB, runs of a letter the
   * text is full of, never completing), median wall time of {@value #RUNS} runs each, interleaved.
   */
  @Test
  void stopStrings_boundedWorstCase_costsAboutWhatNoneCost() {
    io.infermesh.edge.engine.LlamaEngine engine = TinyModel.engine();
    io.infermesh.edge.engine.Prompt prompt = engine.renderChat(List.of(
        io.infermesh.edge.engine.ChatMessage.of(io.infermesh.edge.engine.Role.USER, "Say e many times")));
    List<String> worst = List.of("e".repeat(1024), "e".repeat(1023) + "x", " ".repeat(1024),
        "t".repeat(1023) + "h");
    long[] none = new long[RUNS];
    long[] bounded = new long[RUNS];
    for (int run = -WARMUP; run < RUNS; run++) {
      long a = generate(engine, prompt, List.of());
      long b = generate(engine, prompt, worst);
      if (run >= 0) {
        none[run] = a;
        bounded[run] = b;
      }
    }
    Arrays.sort(none);
    Arrays.sort(bounded);
    System.out.printf(Locale.ROOT, "FRONTDOOR STOP 256 tokens: no stop strings %.2f ms, 4 x 1 KiB stop strings %.2f ms"
        + " (median of %d; ratio %.2f)%n", none[RUNS / 2] / 1e6, bounded[RUNS / 2] / 1e6, RUNS,
        (double) bounded[RUNS / 2] / none[RUNS / 2]);
  }

  private static long generate(io.infermesh.edge.engine.LlamaEngine engine, io.infermesh.edge.engine.Prompt prompt,
      List<String> stops) {
    io.infermesh.edge.engine.SamplingParams sampling = new io.infermesh.edge.engine.SamplingParams(256, 0f, 1f, 0,
        OptionalLong.of(1), stops);
    long started = System.nanoTime();
    engine.generate(prompt, sampling, text -> { }, () -> false);
    return System.nanoTime() - started;
  }

  /** Parses and opens one request on this thread; returns "accepted" or the refusal's status and param. */
  private static String attempt(EdgeAgent agent, byte[] body) {
    try {
      OpenAiRequests.Parsed parsed = OpenAiRequests.chat(body, "");
      try (CompletionStream stream = agent.service().open(parsed.request(), Tenant.ANONYMOUS)) {
        stream.cancel(); // accepted: the engine is never reached
        return "accepted (" + stream.served().route().reason() + ")";
      }
    } catch (EdgeException e) {
      return HttpErrors.status(e.kind()) + " " + e.param().orElse("-") + ": " + shorten(e.getMessage());
    } catch (HttpProblem e) {
      return e.status() + " " + (e.param() == null ? "-" : e.param()) + ": " + shorten(e.getMessage());
    }
  }

  private static String shorten(String s) {
    return s.length() <= 70 ? s : s.substring(0, 70) + "…";
  }
}
