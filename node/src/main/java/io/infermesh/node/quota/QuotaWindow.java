package io.infermesh.node.quota;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.Locale;

/** A quota's period: a calendar day or month in the ledger's zone (UTC unless configured). */
public enum QuotaWindow {
  DAY,
  MONTH;

  /** The start of the window holding {@code t}. */
  public Instant start(Instant t, ZoneId zone) {
    LocalDate date = t.atZone(zone).toLocalDate();
    return (this == DAY ? date : date.withDayOfMonth(1)).atStartOfDay(zone).toInstant();
  }

  /** The end (exclusive) of the window holding {@code t}: when its quota resets. */
  public Instant end(Instant t, ZoneId zone) {
    LocalDate date = t.atZone(zone).toLocalDate();
    return (this == DAY ? date.plusDays(1) : date.withDayOfMonth(1).plusMonths(1)).atStartOfDay(zone).toInstant();
  }

  /** {@code tokens_per_day} or {@code tokens_per_month}: the quota's name in config and in 429 answers. */
  public String quotaName() {
    return "tokens_per_" + name().toLowerCase(Locale.ROOT);
  }
}
