package io.infermesh.cli;

import io.infermesh.node.audit.AuditLog;
import io.infermesh.node.audit.AuditVerifier;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code infermesh audit verify}: checks the hash chain of audit files and names the first broken link. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Verify the hash chain of audit log files, oldest first.",
      "",
      "Exits 0 when every link holds, 1 with the first broken link (file, line,",
      "why) when one does not. An edited, removed, inserted or reordered line, a",
      "torn line and a missing file are found; lines cut from the very end of the",
      "log are found only with --head, the head published when they were written.",
      ""
    })
final class AuditVerifyCommand implements Callable<Integer> {
  static final int BROKEN = 1;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "FILE", arity = "1..*",
      description = "Audit files in order (audit-000001.jsonl ...), or a directory: its audit-*.jsonl files in name order.")
  List<Path> files;

  @Option(names = "--start", paramLabel = "HASH",
      description = "The first record's prev when older files were archived (default: the genesis value, 64 zeros).")
  String start = AuditLog.GENESIS;

  @Option(names = "--head", paramLabel = "HASH", description = "The hash the log's last line must have.")
  String head;

  @Override
  public Integer call() throws IOException {
    List<Path> all = new ArrayList<>();
    for (Path f : files) {
      if (Files.isDirectory(f)) {
        try (Stream<Path> in = Files.list(f)) {
          in.filter(p -> p.getFileName().toString().matches("audit-\\d+\\.jsonl")).sorted().forEach(all::add);
        }
      } else if (Files.isRegularFile(f)) {
        all.add(f);
      } else {
        throw new IOException("no such audit file: " + f);
      }
    }
    if (all.isEmpty()) {
      throw new IllegalArgumentException("no audit files in " + files);
    }
    AuditVerifier.Result result = AuditVerifier.verify(all, start, Optional.ofNullable(head));
    PrintWriter out = spec.commandLine().getOut();
    if (result instanceof AuditVerifier.Intact intact) {
      out.printf("intact: %d records in %d files, head %s%n", intact.records(), intact.files(), intact.head());
      out.flush();
      return 0;
    }
    out.println("broken: " + result);
    out.flush();
    return BROKEN;
  }
}
