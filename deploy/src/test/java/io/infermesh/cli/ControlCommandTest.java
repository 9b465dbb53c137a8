package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.xds.config.MeshConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code infermesh control} in-process: configuration, validation errors, and a real start. */
class ControlCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(ControlCommand command, String... args) {
    CommandLine cl = new CommandLine(command).setExecutionExceptionHandler(new UserErrorHandler());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void check_annotatedMeshYaml_isValidAndSummarized() {
    assertThat(run(new ControlCommand(), "--config", "mesh.yaml", "--check")).isZero();
    assertThat(out.toString())
        .contains("regions eu-west (private), us-east (private), public-burst (public)")
        .contains("core-inference (grpc split v1:90/v2:10 shadow 5.0% to v3)")
        .contains("5 static endpoints");
  }

  @Test
  void check_noConfig_usesTheBuiltInDemoMesh() {
    assertThat(run(new ControlCommand(), "--check")).isZero();
    assertThat(out.toString()).contains("regions local (private)").contains("1 static endpoints");
  }

  @Test
  void resolve_flagsOverrideTheFile() throws Exception {
    ControlCommand cmd = new ControlCommand();
    new CommandLine(cmd).parseArgs("--config", "mesh.yaml", "--xds-port", "0", "--admin-port", "-1");
    MeshConfig c = cmd.resolve();
    assertThat(c.control().xdsPort()).isZero();
    assertThat(c.control().adminPort()).isEqualTo(-1);
  }

  @Test
  void control_misspelledKey_failsWithOneLineNamingIt() throws Exception {
    Path yaml = dir.resolve("mesh.yaml");
    Files.writeString(yaml, "burst:\n  hihgWatermark: 0.9\n");
    assertThat(run(new ControlCommand(), "--config", yaml.toString(), "--check")).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("burst.hihgWatermark: unknown key").doesNotContain("\tat ");
  }

  @Test
  void control_missingFile_failsWithOneLine() {
    assertThat(run(new ControlCommand(), "--config", dir.resolve("nope.yaml").toString())).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("nope.yaml: config file not found");
  }

  @Test
  void control_starts_servesAdminAndStopsWhenInterrupted() throws Exception {
    Path yaml = dir.resolve("mesh.yaml");
    Files.writeString(yaml, """
        regions: [{name: local}]
        mtls: false
        control:
          xds: {address: 127.0.0.1, port: 0, plaintext: true}
          admin: {address: 127.0.0.1, port: 0}
        discovery:
          static: [{address: 127.0.0.1, port: 9443, region: local}]
        """);
    AtomicInteger exit = new AtomicInteger(-1);
    Thread runner = new Thread(() -> exit.set(run(new ControlCommand(), "--config", yaml.toString())));
    runner.start();
    Pattern admin = Pattern.compile("admin on http://127.0.0.1:(\\d+)");
    await().atMost(Duration.ofSeconds(20)).until(() -> admin.matcher(out.toString()).find());
    Matcher m = admin.matcher(out.toString());
    assertThat(m.find()).isTrue();
    assertThat(out.toString()).contains("xds-control listening: xDS on port").contains("PLAINTEXT, loopback only");
    HttpResponse<String> health = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.group(1) + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    runner.interrupt();
    runner.join(10_000);
    assertThat(exit.get()).isZero();
  }
}
