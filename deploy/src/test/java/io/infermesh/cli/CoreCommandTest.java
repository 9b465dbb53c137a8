package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.core.config.Audit;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.CoreConfigLoader;
import io.infermesh.core.config.Tenants;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code infermesh core} in-process: config resolution and start-up errors. */
class CoreCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cl = new CommandLine(new CoreCommand())
        .setExecutionExceptionHandler(new UserErrorHandler());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void annotatedCoreYaml_parsesWithEveryDefault() throws Exception {
    CoreConfig c = CoreConfigLoader.load(Path.of("core.yaml"));
    assertThat(c.grpcPort()).isEqualTo(9443);
    assertThat(c.model().name()).isEqualTo("tiny-core");
    assertThat(c.scheduler().maxBatchSize()).isEqualTo(64);
    assertThat(c.stage().count()).isEqualTo(1);
    assertThat(c.consul()).isEqualTo(CoreConfig.CONSUL_DEFAULT);
    assertThat(c.tenants()).isEqualTo(Tenants.off());
    assertThat(c.audit().enabled()).isFalse();
    assertThat(c.audit().maxFileBytes()).isEqualTo(Audit.DEFAULT_MAX_FILE_BYTES);
  }

  @Test
  void resolve_consulFlag_turnsRegistrationOn() throws Exception {
    Path yaml = dir.resolve("core.yaml");
    Files.writeString(yaml, "consul:\n  tier: public\n");
    CoreCommand cmd = new CoreCommand();
    new CommandLine(cmd).parseArgs("--config", yaml.toString(), "--consul", "http://127.0.0.1:8500");
    CoreConfig c = cmd.resolve();
    assertThat(c.consul().enabled()).isTrue();
    assertThat(c.consul().address()).isEqualTo("http://127.0.0.1:8500");
    assertThat(c.consul().registration().orElseThrow().tier()).isEqualTo("public");
  }

  @Test
  void resolve_flagsOverrideTheFile() throws Exception {
    Path yaml = dir.resolve("core.yaml");
    Files.writeString(yaml, "grpc:\n  port: 9000\nmodel:\n  name: m\n");
    CoreCommand cmd = new CoreCommand();
    new CommandLine(cmd).parseArgs("--config", yaml.toString(), "--grpc-port", "0", "--model", "x.gguf");
    CoreConfig c = cmd.resolve();
    assertThat(c.grpcPort()).isZero();
    assertThat(c.model().path()).isEqualTo(Path.of("x.gguf").toAbsolutePath());
    assertThat(c.model().name()).isEqualTo("m");
  }

  @Test
  void core_unknownKey_failsNamingIt() throws Exception {
    Path yaml = dir.resolve("core.yaml");
    Files.writeString(yaml, "scheduler:\n  max_qeued: 3\n");
    assertThat(run("--config", yaml.toString())).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("scheduler.max_qeued").contains("unknown key");
  }

  @Test
  void core_truncatedModel_clearStartupErrorNotStackTrace() throws Exception {
    Path certs = dir.resolve("certs");
    io.infermesh.certs.CertificateAuthority ca = io.infermesh.certs.CertificateAuthority.create("mesh.test",
        Duration.ofDays(365), Clock.systemUTC());
    ca.issue(io.infermesh.certs.LeafRequest.builder(io.infermesh.certs.Role.CORE, "test-1", "core-0")
        .validity(Duration.ofDays(1)).build()).writeTo(certs, true);
    Path model = dir.resolve("broken.gguf");
    Files.write(model, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
    Path yaml = dir.resolve("core.yaml");
    Files.writeString(yaml, "tls:\n  dir: certs\nmetrics:\n  port: -1\n");
    int exit = run("--config", yaml.toString(), "--model", model.toString(), "--grpc-port", "0");
    assertThat(exit).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("broken.gguf").doesNotContain("\tat ");
  }

  @Test
  void resolve_stageAndNext_setThePipelinePlace() throws Exception {
    CoreCommand cmd = new CoreCommand();
    new CommandLine(cmd).parseArgs("--stage", "0/3", "--next", "core-1:9444");
    CoreConfig c = cmd.resolve();
    assertThat(c.stage().index()).isZero();
    assertThat(c.stage().count()).isEqualTo(3);
    assertThat(c.stage().next()).isEqualTo("core-1:9444");
  }

  @Test
  void core_stageWithoutNext_failsNamingStageNext() {
    assertThat(run("--stage", "0/2")).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("stage.next");
  }

  @Test
  void core_stageOutOfRange_failsNamingStageIndex() {
    assertThat(run("--stage", "2/2")).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("stage.index");
  }

  @Test
  void core_upstreamWithoutUrl_failsNamingTheKey() throws Exception {
    Path yaml = dir.resolve("core.yaml");
    Files.writeString(yaml, "engine:\n  type: upstream\n");
    assertThat(run("--config", yaml.toString())).isEqualTo(UserErrorHandler.USER_ERROR);
    assertThat(err.toString()).contains("engine.upstream.url");
  }
}
