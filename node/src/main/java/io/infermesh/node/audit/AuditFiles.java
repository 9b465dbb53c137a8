package io.infermesh.node.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The log's files in a directory, {@code audit-000001.jsonl} onwards, and reading their tails. */
final class AuditFiles {
  private static final Pattern NAME = Pattern.compile("audit-(\\d{6,18})\\.jsonl");
  private static final int CHUNK = 64 * 1024;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private AuditFiles() {}

  static Path name(Path dir, long sequence) {
    return dir.resolve(String.format("audit-%06d.jsonl", sequence));
  }

  static long sequence(Path file) {
    Matcher m = NAME.matcher(file.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  /** The log files in {@code dir}, oldest first. */
  static List<Path> list(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(p -> sequence(p) >= 0).forEach(out::add);
    }
    out.sort(Comparator.comparingLong(AuditFiles::sequence));
    return out;
  }

  /**
   * The position of the last {@code '\n'} before {@code before}, or -1. Reads backwards in chunks, so
   * it costs the distance to that newline, not the file's size.
   */
  static long lastNewline(FileChannel ch, long before) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(CHUNK);
    long end = before;
    while (end > 0) {
      long start = Math.max(0, end - CHUNK);
      buf.clear().limit((int) (end - start));
      readFully(ch, buf, start);
      for (int i = buf.limit() - 1; i >= 0; i--) {
        if (buf.get(i) == '\n') {
          return start + i;
        }
      }
      end = start;
    }
    return -1;
  }

  static byte[] read(FileChannel ch, long position, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(length);
    readFully(ch, buf, position);
    return buf.array();
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long p = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, p);
      if (n < 0) {
        throw new IOException("file ended while reading at " + p);
      }
      p += n;
    }
    buf.flip();
  }

  /** Appends the file's bytes {@code [from, from + length)} to {@code FILE.torn}. */
  static void setAside(Path file, long from, long length) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      byte[] bytes = AuditFiles.read(ch, from, Math.toIntExact(length));
      Files.write(file.resolveSibling(file.getFileName() + ".torn"), bytes, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
  }

  /** The hash of the file's last complete line (older files end whole; the newest was cut to whole). */
  static Optional<String> lastLineHash(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long end = AuditFiles.lastNewline(ch, ch.size());
      if (end < 0) {
        return Optional.empty();
      }
      long start = AuditFiles.lastNewline(ch, end) + 1;
      byte[] line = AuditFiles.read(ch, start, Math.toIntExact(end - start));
      return Optional.of(AuditChain.hash(line, 0, line.length));
    }
  }

  /** The {@code time} of the file's first line, if it has a whole one that holds it. */
  static Optional<Instant> firstRecordTime(FileChannel ch, long length) {
    try {
      ByteArrayOutputStream first = new ByteArrayOutputStream();
      long p = 0;
      ByteBuffer one = ByteBuffer.allocate(4096);
      while (p < length) {
        one.clear();
        int n = ch.read(one, p);
        if (n <= 0) {
          break;
        }
        int nl = -1;
        for (int i = 0; i < n && nl < 0; i++) {
          if (one.get(i) == '\n') {
            nl = i;
          }
        }
        first.write(one.array(), 0, nl < 0 ? n : nl);
        if (nl >= 0) {
          break;
        }
        p += n;
      }
      JsonNode node = MAPPER.readTree(first.toByteArray());
      return Optional.of(Instant.parse(node.get("time").asText()));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
