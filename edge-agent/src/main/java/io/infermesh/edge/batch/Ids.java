package io.infermesh.edge.batch;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;

/**
 * Object ids: a prefix, the creation time in milliseconds (12 hex digits, so ids sort by age and
 * lists page by id) and 64 random bits (unguessable across tenants).
 */
final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Ids() {}

  static String next(String prefix, Instant now) {
    byte[] random = new byte[8];
    RANDOM.nextBytes(random);
    return prefix + String.format("%012x", now.toEpochMilli()) + HexFormat.of().formatHex(random);
  }
}
