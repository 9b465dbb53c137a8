package io.infermesh.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.audit.AuditRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditCommandTest {
  @TempDir Path dir;

  private String writeLog(int records) throws IOException {
    try (AuditLog log = AuditLog.builder(dir).maxFileBytes(600).fsync(AuditFsync.EVERY_RECORD).open()) {
      for (int i = 0; i < records; i++) {
        log.append(AuditRecord.builder().time(Instant.parse("2026-01-01T00:00:00Z")).requestId("r" + i)
            .tenant("acme").status("200").build());
      }
      return log.head();
    }
  }

  @Test
  void verify_intactFiles_exitsZero() throws IOException {
    String head = writeLog(6);

    List<String> args = new ArrayList<>(List.of("audit", "verify", "--head", head));
    try (Stream<Path> files = Files.list(dir)) {
      files.map(Path::toString).sorted().forEach(args::add);
    }

    CliRun run = CliRun.of(args.toArray(String[]::new));

    assertThat(args).hasSizeGreaterThan(5); // several files: the chain crosses them
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).startsWith("intact: 6 records in " + (args.size() - 4) + " files, head " + head);
  }

  @Test
  void verify_directoryWithEditedLine_exitsOneNamingFirstBrokenLink() throws IOException {
    writeLog(6);
    Path first = dir.resolve("audit-000001.jsonl");
    List<String> lines = new ArrayList<>(Files.readAllLines(first, UTF_8));
    lines.set(0, lines.get(0).replace("\"status\":\"200\"", "\"status\":\"500\""));
    Files.writeString(first, String.join("\n", lines) + "\n", UTF_8);

    CliRun run = CliRun.of("audit", "verify", dir.toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out()).startsWith("broken: " + first + ":2: prev is ");
  }

  @Test
  void verify_missingFile_exitsOneWithError() {
    CliRun run = CliRun.of("audit", "verify", dir.resolve("nope.jsonl").toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("no such audit file");
  }
}
