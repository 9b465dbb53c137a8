package io.infermesh.node.audit;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Checks an audit log's chain across a sequence of files, in the order given, and reports the first
 * broken link: the file, the line number (from 1) and why.
 *
 * <p>What a hash chain can and cannot show: an edited, removed, inserted or reordered line breaks the
 * link of the line after it; a line cut in half is a torn line; a file removed from the middle breaks
 * the next file's first link. Lines cut from the very end of the log, or an edit to its very last
 * line, leave a valid chain: only a head published elsewhere ({@link AuditLog#head()}, given as
 * {@code expectedHead}) catches those.
 *
 * <p>Stateless and thread-safe. Reads each file once, a line at a time.
 */
public final class AuditVerifier {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** The outcome: intact (records and head) or the first broken link. */
  public sealed interface Result permits Intact, Broken {}

  /** Every link holds. */
  public record Intact(long records, int files, String head) implements Result {}

  /** The first link that does not hold. */
  public record Broken(Path file, long line, String reason) implements Result {
    @Override
    public String toString() {
      return file + ":" + line + ": " + reason;
    }
  }

  private AuditVerifier() {}

  /** Verifies {@code files} as one log that starts at {@link AuditLog#GENESIS}. */
  public static Result verify(List<Path> files) throws IOException {
    return verify(files, AuditLog.GENESIS, Optional.empty());
  }

  /**
   * Verifies {@code files} as one chain whose first record's {@code prev} is {@code start} (the
   * genesis, or the head of files archived before them), and whose last line hashes to {@code
   * expectedHead} when one is given.
   */
  public static Result verify(List<Path> files, String start, Optional<String> expectedHead) throws IOException {
    requireNonNull(files, "files");
    requireNonNull(start, "start");
    requireNonNull(expectedHead, "expectedHead");
    if (files.isEmpty()) {
      throw new IllegalArgumentException("no audit files to verify");
    }
    String expected = start;
    long records = 0;
    Path lastFile = files.get(0);
    long lastLine = 0;
    for (Path file : files) {
      lastFile = file;
      long lineNo = 0;
      try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
        ByteArrayOutputStream line = new ByteArrayOutputStream(512);
        int b;
        while (true) {
          b = in.read();
          if (b == -1) {
            break;
          }
          if (b != '\n') {
            line.write(b);
            continue;
          }
          lineNo++;
          byte[] bytes = line.toByteArray();
          line.reset();
          Optional<String> why = check(bytes, expected, lineNo == 1 && records > 0);
          if (why.isPresent()) {
            return new Broken(file, lineNo, why.get());
          }
          expected = AuditChain.hash(bytes, 0, bytes.length);
          records++;
        }
        if (line.size() > 0) {
          return new Broken(file, lineNo + 1, "torn line: " + line.size()
              + " bytes with no newline at the end of the file (a crash while writing, or the file was cut)");
        }
      }
      lastLine = lineNo;
    }
    if (expectedHead.isPresent() && !expectedHead.get().equals(expected)) {
      return new Broken(lastFile, lastLine, "the log ends at a line hashing to " + abbrev(expected)
          + ", not at the expected head " + abbrev(expectedHead.get())
          + ": lines were cut from its end or its last line was edited");
    }
    return new Intact(records, files.size(), expected);
  }

  private static Optional<String> check(byte[] bytes, String expected, boolean firstOfLaterFile) {
    JsonNode node;
    try {
      node = MAPPER.readTree(bytes);
    } catch (JsonProcessingException e) {
      return Optional.of("not a JSON object (" + e.getOriginalMessage() + ")");
    } catch (IOException e) {
      return Optional.of("unreadable line (" + e.getMessage() + ")");
    }
    if (node == null || !node.isObject()) {
      return Optional.of("not a JSON object");
    }
    JsonNode prev = node.get(AuditChain.PREV);
    if (prev == null || !prev.isTextual()) {
      return Optional.of("no \"prev\" field");
    }
    if (!prev.asText().equals(expected)) {
      String what = firstOfLaterFile
          ? "the previous file's last line"
          : expected.equals(AuditLog.GENESIS) ? "the genesis value" : "the line before";
      return Optional.of("prev is " + abbrev(prev.asText()) + " but " + what + " hashes to " + abbrev(expected)
          + ": a line before this one was edited, removed, inserted or moved (or a file is missing or out of order)");
    }
    return Optional.empty();
  }

  private static String abbrev(String hash) {
    return hash.length() > 12 ? hash.substring(0, 12) + "…" : hash;
  }
}
