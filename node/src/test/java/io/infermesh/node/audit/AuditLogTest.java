package io.infermesh.node.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.certs.FakeClock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
  @TempDir Path dir;
  private final FakeClock time = new FakeClock();

  private AuditLog.Builder builder() {
    return AuditLog.builder(dir).clock(time.clock()).scheduler(time.scheduler());
  }

  private AuditRecord record(int i) {
    return AuditRecord.builder().time(time.clock().instant()).requestId("req-" + i).tenant("acme")
        .caller("spiffe://mesh.local/eu/gateway/gw-1").route("edge", "difficulty-low").model("tiny", "sha256:ab12")
        .tokens(12, 34).quota("ok").masking(Map.of("EMAIL", 2, "PHONE", 1)).status("200").build();
  }

  private List<String> lines(Path file) throws IOException {
    return Files.readAllLines(file, UTF_8);
  }

  private void writeLines(Path file, List<String> lines) throws IOException {
    Files.writeString(file, String.join("\n", lines) + "\n", UTF_8);
  }

  private void appendRecords(AuditLog log, int from, int to) {
    for (int i = from; i < to; i++) {
      log.append(record(i));
    }
  }

  @Test
  void append_records_chainVerifiesFromGenesis() throws IOException {
    String head;
    try (AuditLog log = builder().open()) {
      assertThat(log.head()).isEqualTo(AuditLog.GENESIS);
      appendRecords(log, 0, 3);
      head = log.head();
    }
    Path file = dir.resolve("audit-000001.jsonl");
    List<String> lines = lines(file);

    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).startsWith("{\"time\":\"2026-01-01T00:00:00Z\",\"request_id\":\"req-0\"")
        .contains("\"masking\":{\"EMAIL\":2,\"PHONE\":1}").endsWith("\"prev\":\"" + AuditLog.GENESIS + "\"}")
        .doesNotContain("\"prompt\"");
    assertThat(lines.get(1)).endsWith("\"prev\":\"" + AuditChain.hash(lines.get(0)) + "\"}");
    assertThat(AuditVerifier.verify(List.of(file), AuditLog.GENESIS, Optional.of(head)))
        .isEqualTo(new AuditVerifier.Intact(3, 1, head));
  }

  @Test
  void append_textsWhenPolicyKeepsThem_written() throws IOException {
    try (AuditLog log = builder().open()) {
      log.append(AuditRecord.builder().time(time.clock().instant()).requestId("r").tenant("t").status("200")
          .prompt("line one\nline \"two\"").answer("ok").build());
    }
    List<String> lines = lines(dir.resolve("audit-000001.jsonl"));

    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains("\"prompt\":\"line one\\nline \\\"two\\\"\",\"answer\":\"ok\"");
  }

  @Test
  void verify_editedField_brokenAtNextLine() throws IOException {
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 4);
    }
    Path file = dir.resolve("audit-000001.jsonl");
    List<String> lines = new ArrayList<>(lines(file));
    lines.set(1, lines.get(1).replace("\"tenant\":\"acme\"", "\"tenant\":\"acne\""));
    writeLines(file, lines);

    AuditVerifier.Result result = AuditVerifier.verify(List.of(file));

    assertThat(result).isInstanceOfSatisfying(AuditVerifier.Broken.class, b -> {
      assertThat(b.file()).isEqualTo(file);
      assertThat(b.line()).isEqualTo(3);
      assertThat(b.reason()).contains("the line before hashes to");
    });
  }

  @Test
  void verify_deletedLine_brokenWhereItWas() throws IOException {
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 4);
    }
    Path file = dir.resolve("audit-000001.jsonl");
    List<String> lines = new ArrayList<>(lines(file));
    lines.remove(1);
    writeLines(file, lines);

    assertThat(AuditVerifier.verify(List.of(file))).isEqualTo(new AuditVerifier.Broken(file, 2,
        ((AuditVerifier.Broken) AuditVerifier.verify(List.of(file))).reason()));
  }

  @Test
  void verify_reorderedLines_broken() throws IOException {
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 4);
    }
    Path file = dir.resolve("audit-000001.jsonl");
    List<String> lines = new ArrayList<>(lines(file));
    lines.add(1, lines.remove(2));
    writeLines(file, lines);

    assertThat(AuditVerifier.verify(List.of(file))).isInstanceOfSatisfying(AuditVerifier.Broken.class,
        b -> assertThat(b.line()).isEqualTo(2));
  }

  @Test
  void verify_truncatedMidLine_tornLineReported() throws IOException {
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 3);
    }
    Path file = dir.resolve("audit-000001.jsonl");
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(bytes, bytes.length - 20));

    assertThat(AuditVerifier.verify(List.of(file))).isInstanceOfSatisfying(AuditVerifier.Broken.class, b -> {
      assertThat(b.line()).isEqualTo(3);
      assertThat(b.reason()).startsWith("torn line");
    });
  }

  @Test
  void verify_lastLinesCut_detectedOnlyAgainstPublishedHead() throws IOException {
    String head;
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 4);
      head = log.head();
    }
    Path file = dir.resolve("audit-000001.jsonl");
    List<String> lines = new ArrayList<>(lines(file));
    writeLines(file, lines.subList(0, 2));

    assertThat(AuditVerifier.verify(List.of(file))).isInstanceOf(AuditVerifier.Intact.class);
    assertThat(AuditVerifier.verify(List.of(file), AuditLog.GENESIS, Optional.of(head)))
        .isInstanceOfSatisfying(AuditVerifier.Broken.class, b -> assertThat(b.reason()).contains("cut from its end"));
  }

  @Test
  void append_pastMaxBytes_rotatesAndChainSpansFiles() throws IOException {
    try (AuditLog log = builder().maxFileBytes(1000).open()) {
      appendRecords(log, 0, 10);
    }
    List<Path> files = AuditFiles.list(dir);

    assertThat(files).hasSizeGreaterThan(3);
    for (Path f : files) {
      assertThat(Files.size(f)).isLessThanOrEqualTo(1000);
    }
    List<String> first = lines(files.get(0));
    assertThat(lines(files.get(1)).get(0)).endsWith("\"prev\":\"" + AuditChain.hash(first.get(first.size() - 1))
        + "\"}");
    assertThat(AuditVerifier.verify(files)).isInstanceOfSatisfying(AuditVerifier.Intact.class,
        i -> assertThat(i.records()).isEqualTo(10));

    List<Path> missingOne = new ArrayList<>(files);
    missingOne.remove(1);
    assertThat(AuditVerifier.verify(missingOne)).isInstanceOfSatisfying(AuditVerifier.Broken.class, b -> {
      assertThat(b.file()).isEqualTo(files.get(2));
      assertThat(b.line()).isEqualTo(1);
      assertThat(b.reason()).contains("previous file's last line");
    });
  }

  @Test
  void append_afterMaxAge_rotates() throws IOException {
    try (AuditLog log = builder().maxFileAge(Duration.ofHours(1)).open()) {
      appendRecords(log, 0, 2);
      time.forward(Duration.ofMinutes(59));
      appendRecords(log, 2, 3);
      time.forward(Duration.ofMinutes(1));
      appendRecords(log, 3, 4);
    }
    List<Path> files = AuditFiles.list(dir);

    assertThat(files).extracting(p -> p.getFileName().toString())
        .containsExactly("audit-000001.jsonl", "audit-000002.jsonl");
    assertThat(lines(files.get(0))).hasSize(3);
    assertThat(AuditVerifier.verify(files)).isInstanceOf(AuditVerifier.Intact.class);
  }

  @Test
  void open_existingLog_continuesChainAndFileAge() throws IOException {
    try (AuditLog log = builder().maxFileAge(Duration.ofHours(1)).open()) {
      appendRecords(log, 0, 2);
    }
    time.forward(Duration.ofMinutes(30));
    String head;
    try (AuditLog log = builder().maxFileAge(Duration.ofHours(1)).open()) {
      assertThat(log.recovery().tornBytes()).isZero();
      appendRecords(log, 2, 3);
      time.forward(Duration.ofMinutes(30)); // an hour after the file's first record, across the restart
      appendRecords(log, 3, 4);
      head = log.head();
    }
    List<Path> files = AuditFiles.list(dir);

    assertThat(files).hasSize(2);
    assertThat(AuditVerifier.verify(files, AuditLog.GENESIS, Optional.of(head)))
        .isEqualTo(new AuditVerifier.Intact(4, 2, head));
  }

  @Test
  void open_tornLastLine_setAsideReportedAndChainContinues() throws IOException {
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 3);
    }
    Path file = dir.resolve("audit-000001.jsonl");
    String torn = "{\"time\":\"2026-01-01T00:00:00Z\",\"request_id\":\"req-3\",\"ten";
    Files.writeString(file, torn, UTF_8, StandardOpenOption.APPEND);
    assertThat(AuditVerifier.verify(List.of(file))).isInstanceOf(AuditVerifier.Broken.class);

    try (AuditLog log = builder().open()) {
      assertThat(log.recovery().tornBytes()).isEqualTo(torn.length());
      assertThat(log.recovery().file()).contains(file);
      appendRecords(log, 3, 5);
    }

    assertThat(Files.readString(dir.resolve("audit-000001.jsonl.torn"))).isEqualTo(torn);
    assertThat(AuditVerifier.verify(List.of(file))).isInstanceOfSatisfying(AuditVerifier.Intact.class,
        i -> assertThat(i.records()).isEqualTo(5));
  }

  @Test
  void open_emptyNewestFile_headFromPreviousFile() throws IOException {
    try (AuditLog log = builder().open()) {
      appendRecords(log, 0, 2);
    }
    Files.createFile(dir.resolve("audit-000002.jsonl")); // a crash right after a rotation created it
    try (AuditLog log = builder().open()) {
      appendRecords(log, 2, 3);
    }

    assertThat(AuditVerifier.verify(AuditFiles.list(dir))).isInstanceOfSatisfying(AuditVerifier.Intact.class,
        i -> assertThat(i.records()).isEqualTo(3));
  }

  @Test
  void append_fromManyThreads_oneUnbrokenChain() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (AuditLog log = builder().maxFileBytes(20_000).open()) {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int base = t * 1000;
        done.add(pool.submit(() -> appendRecords(log, base, base + 200)));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    assertThat(AuditVerifier.verify(AuditFiles.list(dir))).isInstanceOfSatisfying(AuditVerifier.Intact.class,
        i -> assertThat(i.records()).isEqualTo(800));
  }

  @Test
  void intervalFsync_scheduledAndCancelledOnClose() throws IOException {
    AuditLog log = builder().fsync(AuditFsync.INTERVAL).fsyncInterval(Duration.ofSeconds(1)).open();
    appendRecords(log, 0, 1);
    assertThat(time.pendingTasks()).isEqualTo(1);
    assertThat(time.forward(Duration.ofSeconds(3))).isEqualTo(3);

    log.close();

    assertThat(time.pendingTasks()).isZero();
    assertThatThrownBy(() -> log.append(record(9))).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void parse_fsyncSpellings_policies() {
    assertThat(AuditFsync.parse("every_record")).isEqualTo(AuditFsync.EVERY_RECORD);
    assertThatThrownBy(() -> AuditFsync.parse("always")).hasMessageContaining("every_record, interval or never");
  }

  /**
   * A real {@code kill -9}: a child JVM appends as fast as it can with {@code fsync: never}; once it
   * has reported 200 records it is killed (SIGKILL). Every reported record is in the log, and the
   * chain verifies after a restart recovered it.
   */
  @Test
  void open_afterKill9_noReportedRecordLostAndChainIntact() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        AuditWriterProcess.class.getName(), dir.toString()).redirectErrorStream(true).start();
    long reported = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), UTF_8))) {
      String line;
      while (reported < 200 && (line = out.readLine()) != null) {
        if (line.startsWith("appended ")) {
          reported = Long.parseLong(line.substring("appended ".length()));
        }
      }
      child.destroyForcibly(); // SIGKILL on Linux
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(reported).isEqualTo(200);

    String head;
    try (AuditLog log = builder().open()) {
      log.append(record(-1));
      head = log.head();
    }
    assertThat(AuditVerifier.verify(AuditFiles.list(dir), AuditLog.GENESIS, Optional.of(head)))
        .isInstanceOfSatisfying(AuditVerifier.Intact.class, i -> assertThat(i.records()).isGreaterThan(200));
  }
}
