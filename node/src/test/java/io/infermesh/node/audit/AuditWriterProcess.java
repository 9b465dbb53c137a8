package io.infermesh.node.audit;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;

/** The child of {@code AuditLogTest}'s kill -9 test: appends until killed, reporting each record. */
final class AuditWriterProcess {
  private AuditWriterProcess() {}

  public static void main(String[] args) throws Exception {
    try (AuditLog log = AuditLog.builder(Path.of(args[0])).fsync(AuditFsync.NEVER).maxFileBytes(16 * 1024)
        .clock(Clock.systemUTC()).open()) {
      for (long i = 1; ; i++) {
        log.append(AuditRecord.builder().time(Instant.now()).requestId("child-" + i).tenant("acme")
            .masking(Map.of("EMAIL", 1)).status("200").build());
        System.out.println("appended " + i);
      }
    }
  }
}
