package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponse;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FilePurpose;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch survives {@code kill -9}: a real edge process (its own JVM, the tiny model, the SQLite
 * store) runs a batch of {@code batch.crash.lines} lines (2,000 by default here; {@code
 * -Dbatch.crash.lines=10000} for the figure), is killed with SIGKILL twice mid-run and
 * restarted on the same data directory each time; the batch resumes, never loses what was
 * answered, and completes with exactly one output line per {@code custom_id}.
 */
class BatchCrashTest {
  private static final Pattern READY = Pattern.compile("serving (\\S+) .* on http://([0-9.]+):(\\d+)/v1");
  private static final int LINES = Integer.getInteger("batch.crash.lines", 2000);

  @TempDir Path dir;

  private Process process;

  @AfterEach
  void kill() {
    if (process != null) {
      process.destroyForcibly();
    }
  }

  private OpenAIClient startEdge(Path yaml, int run) throws IOException {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path stderr = dir.resolve("stderr-" + run + ".log");
    process = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx512m", "-cp", classpath, EdgeCommandTest.Launcher.class.getName(),
            "--config", yaml.toString(), "--http-port", "0"))
        .redirectError(stderr.toFile())
        .start();
    BufferedReader stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    Matcher ready = null;
    for (String line; ready == null && (line = stdout.readLine()) != null; ) {
      Matcher m = READY.matcher(line);
      ready = m.find() ? m : null;
    }
    assertThat(ready).as(Files.readString(stderr)).isNotNull();
    Thread drain = new Thread(() -> {
      try {
        stdout.transferTo(Writer.nullWriter());
      } catch (IOException ignored) {
        // the process was killed
      }
    });
    drain.setDaemon(true);
    drain.start();
    return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + ready.group(3) + "/v1").apiKey("unused")
        .maxRetries(0).build();
  }

  private void killNine() throws InterruptedException {
    process.destroyForcibly(); // SIGKILL
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(137);
  }

  private static long answered(OpenAIClient client, String id) {
    var counts = client.batches().retrieve(id).requestCounts().orElseThrow();
    return counts.completed() + counts.failed();
  }

  private static long awaitAnswered(OpenAIClient client, String id, long atLeast) {
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50))
        .until(() -> answered(client, id) >= atLeast);
    return answered(client, id);
  }

  @Test
  void batch_killedTwiceMidRun_resumesAndAnswersEveryCustomIdExactlyOnce() throws Exception {
    Path model = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir);
    Path yaml = Files.writeString(dir.resolve("edge.yaml"), """
        model: {path: %s, context_size: 256, threads: 1, parallel: 2}
        shutdown: {grace: 1s}
        batch: {enabled: true, store: sqlite, data_dir: data, concurrency: 2}
        """.formatted(model.getFileName()));
    StringBuilder input = new StringBuilder();
    for (int i = 0; i < LINES; i++) {
      input.append("{\"custom_id\": \"line-").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/completions\","
          + " \"body\": {\"prompt\": \"count ").append(i).append("\", \"max_tokens\": 1}}\n");
    }
    Path file = Files.writeString(dir.resolve("input.jsonl"), input.toString());

    OpenAIClient client = startEdge(yaml, 1);
    String fileId = client.files().create(FileCreateParams.builder().file(file).purpose(FilePurpose.BATCH).build()).id();
    String id = client.batches().create(BatchCreateParams.builder().inputFileId(fileId)
        .endpoint(BatchCreateParams.Endpoint.V1_COMPLETIONS)
        .completionWindow(BatchCreateParams.CompletionWindow._24H).build()).id();
    long beforeFirstKill = awaitAnswered(client, id, LINES / 3);
    client.close();
    killNine();

    client = startEdge(yaml, 2);
    assertThat(answered(client, id)).as("answers committed before the kill are kept").isGreaterThanOrEqualTo(
        beforeFirstKill);
    long beforeSecondKill = awaitAnswered(client, id, 2L * LINES / 3);
    client.close();
    killNine();

    client = startEdge(yaml, 3);
    assertThat(answered(client, id)).isGreaterThanOrEqualTo(beforeSecondKill);
    OpenAIClient last = client;
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
        .until(() -> last.batches().retrieve(id).status().equals(Batch.Status.COMPLETED));
    Batch done = client.batches().retrieve(id);
    assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(LINES);
    assertThat(done.errorFileId()).isEmpty();
    Set<String> ids = new HashSet<>();
    int lines = 0;
    try (HttpResponse r = client.files().content(done.outputFileId().orElseThrow()); InputStream in = r.body()) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        lines++;
        Matcher m = Pattern.compile("\"custom_id\":\"(line-\\d+)\"").matcher(line);
        assertThat(m.find()).as(line).isTrue();
        ids.add(m.group(1));
        assertThat(line).contains("\"status_code\":200");
      }
    }
    assertThat(lines).isEqualTo(LINES);
    assertThat(ids).hasSize(LINES);
    client.close();
    System.out.printf("BATCHCRASH lines=%d answered before kill 1=%d, before kill 2=%d%n", LINES, beforeFirstKill,
        beforeSecondKill);
  }
}
