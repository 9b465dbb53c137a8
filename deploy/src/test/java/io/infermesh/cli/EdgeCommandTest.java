package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code infermesh edge}: configuration, start-up errors, and a real process stopped by SIGTERM. */
class EdgeCommandTest {
  private static final Pattern READY = Pattern.compile("serving (\\S+) .* on http://([0-9.]+):(\\d+)/v1");

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cl = new CommandLine(new EdgeCommand()).setExecutionExceptionHandler(new UserErrorHandler());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void resolve_flagsOverrideTheFile() throws Exception {
    Path yaml = Files.writeString(dir.resolve("edge.yaml"), "http: {port: 9000}\nmodel: {path: a.gguf, context_size: 1024}\n"
        + "consul: {service_name: shop-edges}\n");
    EdgeCommand cmd = new EdgeCommand();
    new CommandLine(cmd).parseArgs("--config", yaml.toString(), "--http-port", "0", "--grpc-port", "0",
        "--model", "b.gguf", "--consul", "http://127.0.0.1:8500/");

    EdgeConfig c = cmd.resolve();

    assertThat(c.http().port()).isZero();
    assertThat(c.grpc().port()).isZero();
    assertThat(c.model().path()).isEqualTo(Path.of("b.gguf").toAbsolutePath());
    assertThat(c.model().contextSize()).isEqualTo(1024);
    assertThat(c.consul().address()).isEqualTo("http://127.0.0.1:8500");
    assertThat(c.consul().registration().orElseThrow().serviceName()).isEqualTo("shop-edges"); // the rest of the file's section stays
  }

  @Test
  void annotatedEdgeYaml_isValid() throws Exception {
    EdgeCommand cmd = new EdgeCommand();
    new CommandLine(cmd).parseArgs("--config", "edge.yaml");

    assertThat(cmd.resolve().http().port()).isEqualTo(8080);
  }

  @Test
  void edge_badKey_failsWithOneLineNamingIt() throws Exception {
    Path yaml = Files.writeString(dir.resolve("edge.yaml"), "cache:\n  max_byts: 3\n");

    assertThat(run("--config", yaml.toString(), "--model", "m.gguf")).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("edge.yaml: cache.max_byts: unknown key").doesNotContain("\tat ");
  }

  @Test
  void edge_noModel_failsNamingTheKey() {
    assertThat(run()).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("model.path: not set");
  }

  @Test
  void edge_wrongSha256_failsBeforeServing() throws Exception {
    Path model = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir);
    Path yaml = Files.writeString(dir.resolve("edge.yaml"), "model: {sha256: '" + "0".repeat(64) + "'}\n");

    assertThat(run("--config", yaml.toString(), "--model", model.toString(), "--http-port", "0"))
        .isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("model.sha256:").contains("was expected");
  }

  @Test
  void edgeProcess_servesThenExitsZeroOnSigterm() throws Exception {
    Path model = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir);
    Path yaml = Files.writeString(dir.resolve("edge.yaml"), """
        model: {path: %s, context_size: 256, threads: 1}
        shutdown: {grace: 5s}
        """.formatted(model.getFileName()));
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process process = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", classpath, Launcher.class.getName(),
            "--config", yaml.toString(), "--http-port", "0"))
        .redirectError(dir.resolve("stderr.log").toFile())
        .start();
    try {
      BufferedReader stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      Matcher ready = null;
      for (String line; ready == null && (line = stdout.readLine()) != null; ) {
        Matcher m = READY.matcher(line); // the binding prints its own lines to stdout too
        ready = m.find() ? m : null;
      }
      assertThat(ready).as(Files.readString(dir.resolve("stderr.log"))).isNotNull();
      assertThat(ready.group(1)).isEqualTo("tiny-edge-q8_0");
      assertThat(ready.group(2)).isEqualTo("127.0.0.1"); // no API keys: loopback only

      HttpResponse<String> reply = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ready.group(3) + "/v1/chat/completions"))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(
                  "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4}"))
              .timeout(Duration.ofSeconds(30))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(reply.statusCode()).isEqualTo(200);

      process.destroy(); // SIGTERM

      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(process.exitValue()).as(Files.readString(dir.resolve("stderr.log"))).isZero();
      assertThat(Files.readString(dir.resolve("stderr.log"))).contains("received SIGTERM").contains("stopped");
    } finally {
      process.destroyForcibly();
    }
  }

  /** Runs {@code infermesh edge ARGS} in its own JVM, as {@code Main} will once it registers the command. */
  static final class Launcher {
    public static void main(String[] args) {
      int code = new CommandLine(new EdgeCommand()).setExecutionExceptionHandler(new UserErrorHandler()).execute(args);
      System.exit(code); // llama.cpp leaves a native thread behind
    }
  }
}
