package io.infermesh.node.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The link between lines: SHA-256 of a line's UTF-8 bytes (without its newline), in lower-case hex. */
final class AuditChain {
  /** The {@code prev} of the very first record: 64 zeros. */
  static final String GENESIS = "0".repeat(64);
  /** The name of the link field, last in every line. */
  static final String PREV = "prev";

  private AuditChain() {}

  static String hash(byte[] line, int offset, int length) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(line, offset, length);
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  static String hash(String line) {
    byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
    return hash(bytes, 0, bytes.length);
  }
}
