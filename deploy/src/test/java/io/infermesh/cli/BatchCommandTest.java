package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code infermesh batch submit --wait}, {@code status} and {@code results} against a real edge (tiny model). */
class BatchCommandTest {
  private static EdgeAgent edge;
  private static Path dir;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("batch-cli");
    Path model = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir);
    edge = EdgeAgent.builder(EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().path(model).contextSize(256).threads(1).parallel(2).build())
        .withHttpPort(0)
        .withBatch(Batches.NONE.withSqlite(dir.resolve("data")))).start();
    edge.awaitModel(Duration.ofMinutes(2));
  }

  @AfterAll
  static void stop() {
    edge.close();
  }

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new BatchCommand()).setExecutionExceptionHandler(new UserErrorHandler());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @Test
  void submitWait_thenStatusAndResults_everyLineAnswered() throws Exception {
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      lines.append("{\"custom_id\": \"c").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/completions\","
          + " \"body\": {\"prompt\": \"p").append(i).append("\", \"max_tokens\": 1}}\n");
    }
    Path input = Files.writeString(dir.resolve("in.jsonl"), lines.toString());
    String url = "http://127.0.0.1:" + edge.httpPort() + "/v1";

    Run submit = run("submit", input.toString(), "--endpoint", "/v1/completions", "--url", url, "--wait");

    assertThat(submit.code()).as(submit.err()).isZero();
    String id = submit.out().strip();
    assertThat(id).startsWith("batch_");
    assertThat(submit.err()).contains("[" + "#".repeat(30) + "] 20/20 done, 0 failed, completed");
    Run status = run("status", id, "--url", url);
    assertThat(status.out()).contains(id + " completed total=20 completed=20 failed=0 output_file_id=file-");
    Path results = dir.resolve("out.jsonl");
    assertThat(run("results", id, "--url", url, "-o", results.toString()).code()).isZero();
    List<String> out = Files.readAllLines(results);
    assertThat(out).hasSize(20).allSatisfy(l -> assertThat(l).contains("\"status_code\":200"));
    Run none = run("results", id, "--url", url, "--errors");
    assertThat(none.code()).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(none.err()).contains("has no error file");
  }
}
