package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.config.Routing;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code infermesh up}: in-process with {@code --no-control} (the control plane sets the JVM-wide
 * grpc-xds bootstrap; {@code UpControlPlaneTest} runs that in its own fork), and as a process of
 * its own with the control plane, the edge reaching the core through {@code xds:///}.
 */
class UpCommandTest {
  @TempDir Path dir;


  @Test
  void up_demoOnAFreshDirectory_printsWhatRunsWhereAndARouteTable() throws Exception {
    Path state = dir.resolve("state");
    CliRun r = CliRun.of("up", "--dir", state.toString(), "--http-port", "0", "--core-port", "0", "--no-control",
        "--demo", "--exit");
    assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("core  tiny-core  mTLS gRPC  127.0.0.1:", "edge  OpenAI API http://127.0.0.1:",
        "curl -si http://127.0.0.1:", "/v1/chat/completions", "escalates to 127.0.0.1:");
    assertThat(r.out()).doesNotContain("xds:///", "xds   control");
    assertThat(r.out()).contains("prompt", "route", "reason", "latency")
        .contains("difficulty-low", "difficulty-high", "alias-core", "privacy-local-only", "exceeds-edge-context");
    assertThat(r.out()).doesNotContain(" 503 ", " 400 ", " 500 ");
    assertThat(state.resolve("pki/ca/ca.crt")).exists();
    assertThat(state.resolve("pki/certs/edge-0.crt")).exists();
    assertThat(Files.list(state.resolve("models")).count()).isEqualTo(2);

    // a second start reuses the CA
    byte[] ca = Files.readAllBytes(state.resolve("pki/ca/ca.crt"));
    CliRun again = CliRun.of("up", "--dir", state.toString(), "--http-port", "0", "--core-port", "0", "--no-control",
        "--exit");
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(Files.readAllBytes(state.resolve("pki/ca/ca.crt"))).isEqualTo(ca);
  }

  @Test
  void meshUp_defaults_everyServerListensOnLoopbackOnly() throws Exception {
    MeshUp.Options options = new MeshUp.Options(dir.resolve("state"), 0, 0, Optional.empty(), Optional.empty(),
        Routing.DEFAULT, Duration.ofSeconds(30));
    try (MeshUp mesh = MeshUp.start(options)) {
      InetSocketAddress core = mesh.core().server().address();
      assertThat(core.getAddress().isLoopbackAddress()).as("the core listens on %s", core).isTrue();
      assertThat(InetAddress.getByName(mesh.edge().httpHost()).isLoopbackAddress())
          .as("the edge listens on %s", mesh.edge().httpHost()).isTrue();
      assertThat(mesh.coreAddress()).isEqualTo("127.0.0.1:" + mesh.corePort());
      assertThat(mesh.edgeUrl()).isEqualTo("http://127.0.0.1:" + mesh.edge().httpPort());
    }
  }

  @Test
  void upProcess_servesThenStopsEverythingCleanlyOnSignal() throws Exception {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path stderr = dir.resolve("stderr.log");
    Process process = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", classpath, Main.class.getName(),
            "up", "--dir", dir.resolve("state").toString(), "--http-port", "0", "--core-port", "0",
            "--xds-port", "0", "--control-admin-port", "0"))
        .redirectError(stderr.toFile())
        .start();
    try {
      Pattern edgeLine = Pattern.compile("edge  OpenAI API http://127\\.0\\.0\\.1:(\\d+)/v1");
      BufferedReader stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      Matcher ready = null;
      StringBuilder printed = new StringBuilder();
      for (String line; ready == null && (line = stdout.readLine()) != null; ) {
        printed.append(line).append('\n');
        Matcher m = edgeLine.matcher(line);
        ready = m.find() ? m : null;
      }
      assertThat(ready).as(Files.readString(stderr)).isNotNull();
      assertThat(printed.toString()).containsPattern("xds   control    xDS 127\\.0\\.0\\.1:\\d+ \\(mTLS, loopback\\)"
          + "   serves core-inference   admin http://127\\.0\\.0\\.1:\\d+/nodes");
      assertThat(stdout.readLine()).isEqualTo("        escalates to xds:///core-inference over mTLS");
      HttpResponse<String> reply = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ready.group(1) + "/v1/chat/completions"))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(
                  "{\"model\": \"core\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4}"))
              .timeout(Duration.ofSeconds(30))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(reply.statusCode()).isEqualTo(200);
      assertThat(reply.headers().firstValue("x-infermesh-route")).hasValue("core");

      process.destroy(); // SIGTERM, handled like Ctrl-C's SIGINT

      assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String log = Files.readString(stderr);
      assertThat(process.exitValue()).as(log).isZero();
      // each component's lines carry its prefix
      assertThat(log).containsPattern("INFO  edge .*EdgeAgent - stopped").containsPattern("INFO  core ")
          .containsPattern("INFO  xds .*ControlPlane - control plane stopped");
      // edge, then control plane, then core
      assertThat(log.indexOf("EdgeAgent - stopped")).isLessThan(log.indexOf("control plane stopped"));
    } finally {
      process.destroyForcibly();
    }
  }
}
