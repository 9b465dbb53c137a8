package io.infermesh.node.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.certs.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuotaLedgerTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T18:00:00Z"));

  private QuotaLedger ledger(long perDay, long perMonth) {
    return QuotaLedger.builder(clock).limit("acme", QuotaWindow.DAY, perDay).limit("acme", QuotaWindow.MONTH, perMonth)
        .build();
  }

  private static QuotaLedger.Reservation admitted(QuotaDecision d) {
    assertThat(d).isInstanceOf(QuotaDecision.Admitted.class);
    return ((QuotaDecision.Admitted) d).reservation();
  }

  @Test
  void reserve_withinQuota_reservesWorstCase() {
    QuotaLedger ledger = ledger(1000, 10_000);

    QuotaLedger.Reservation r = admitted(ledger.reserve("acme", 100, 200));

    assertThat(r.tokens()).isEqualTo(300);
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(300));
    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
  }

  @Test
  void reserve_worstCaseWouldOverdraw_refusedUntilWindowEnd() {
    QuotaLedger ledger = ledger(1000, 10_000);
    admitted(ledger.reserve("acme", 600, 300));

    QuotaDecision d = ledger.reserve("acme", 50, 100);

    assertThat(d).isEqualTo(new QuotaDecision.Refused("acme", QuotaWindow.DAY, 1000, 0, 900, 150,
        Instant.parse("2026-03-02T00:00:00Z"), Duration.ofHours(6), false));
    assertThat(((QuotaDecision.Refused) d).message()).contains("tokens_per_day", "resets at 2026-03-02T00:00:00Z");
  }

  @Test
  void settle_lessThanReserved_freesTheRest() {
    QuotaLedger ledger = ledger(1000, 10_000);
    QuotaLedger.Reservation r = admitted(ledger.reserve("acme", 600, 300));

    ledger.settle(r, 400);

    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(400));
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
    admitted(ledger.reserve("acme", 100, 500));
    assertThat(ledger.reserve("acme", 0, 1)).isInstanceOf(QuotaDecision.Refused.class);
  }

  @Test
  void reserve_largerThanQuota_neverFits() {
    QuotaDecision d = ledger(1000, 10_000).reserve("acme", 10, 1000);

    assertThat(d).isInstanceOfSatisfying(QuotaDecision.Refused.class, r -> {
      assertThat(r.neverFits()).isTrue();
      assertThat(r.message()).contains("lower max_tokens");
    });
  }

  @Test
  void reserve_monthSpentButDayFree_refusedByMonthUntilNextMonth() {
    QuotaLedger ledger = ledger(1000, 1500);
    ledger.settle(admitted(ledger.reserve("acme", 400, 500)), 900);
    clock.advance(Duration.ofDays(1));

    QuotaDecision d = ledger.reserve("acme", 300, 400);

    assertThat(d).isInstanceOfSatisfying(QuotaDecision.Refused.class, r -> {
      assertThat(r.window()).isEqualTo(QuotaWindow.MONTH);
      assertThat(r.used()).isEqualTo(900);
      assertThat(r.resetsAt()).isEqualTo(Instant.parse("2026-04-01T00:00:00Z"));
      assertThat(r.retryAfter()).isEqualTo(Duration.ofDays(29).plusHours(6));
    });
  }

  @Test
  void settle_afterMidnight_chargedToNewDayAndReservationCarried() {
    clock.set(Instant.parse("2026-03-01T23:59:00Z"));
    QuotaLedger ledger = ledger(1000, 100_000);
    ledger.settle(admitted(ledger.reserve("acme", 0, 100)), 100);
    QuotaLedger.Reservation late = admitted(ledger.reserve("acme", 100, 700));

    clock.advance(Duration.ofMinutes(2));
    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(800));
    assertThat(ledger.reserve("acme", 100, 200)).isInstanceOf(QuotaDecision.Refused.class);
    ledger.settle(late, 500);

    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(500));
    assertThat(ledger.used("acme", QuotaWindow.MONTH)).isEqualTo(OptionalLong.of(600));
  }

  @Test
  void settle_twice_refused() {
    QuotaLedger ledger = ledger(1000, 10_000);
    QuotaLedger.Reservation r = admitted(ledger.reserve("acme", 1, 1));
    ledger.settle(r, 2);

    assertThatThrownBy(() -> ledger.settle(r, 2)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("settled twice");
  }

  @Test
  void reserve_tenantWithoutQuota_alwaysAdmitted() {
    QuotaLedger ledger = ledger(10, 10);

    QuotaLedger.Reservation r = admitted(ledger.reserve("other", 1_000_000, 1_000_000));
    ledger.settle(r, 2_000_000);

    assertThat(ledger.used("other", QuotaWindow.DAY)).isEmpty();
  }

  @Test
  void reserve_unlistedTenantsWithDefaults_eachCountedApartAndOwnersExempt() {
    QuotaLedger ledger = QuotaLedger.builder(clock).limit("acme", QuotaWindow.DAY, 10_000).own("free")
        .defaultLimit(QuotaWindow.DAY, 100).build();
    QuotaLedger.Reservation first = admitted(ledger.reserve("one", 50, 50));

    QuotaDecision again = ledger.reserve("one", 1, 0);
    QuotaLedger.Reservation other = admitted(ledger.reserve("two", 50, 50));
    QuotaLedger.Reservation acme = admitted(ledger.reserve("acme", 500, 500));

    assertThat(again).isInstanceOf(QuotaDecision.Refused.class);
    assertThat(((QuotaDecision.Refused) again).limit()).isEqualTo(100);
    assertThat(ledger.reserved("two", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(100));
    assertThat(ledger.reserved("acme", QuotaWindow.MONTH)).isEmpty(); // its own quotas only
    assertThat(ledger.reserve("free", 1_000, 1_000)).isInstanceOf(QuotaDecision.Admitted.class);
    ledger.settle(first, 30);
    assertThat(ledger.used("one", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(30));
    ledger.settle(other, 0);
    ledger.settle(acme, 0);
  }

  @Test
  void reserve_zoneDays_resetAtLocalMidnight() {
    clock.set(Instant.parse("2026-03-01T15:59:00Z")); // 23:59 in Shanghai
    QuotaLedger ledger = QuotaLedger.builder(clock).zone(ZoneId.of("Asia/Shanghai"))
        .limit("acme", QuotaWindow.DAY, 100).build();
    ledger.settle(admitted(ledger.reserve("acme", 50, 50)), 100);
    assertThat(ledger.reserve("acme", 1, 0)).isInstanceOfSatisfying(QuotaDecision.Refused.class,
        r -> assertThat(r.resetsAt()).isEqualTo(Instant.parse("2026-03-01T16:00:00Z")));

    clock.advance(Duration.ofMinutes(1));

    admitted(ledger.reserve("acme", 1, 0));
  }

  /**
   * Property: whatever the sequence of admissions, settlements (never above the reservation) and
   * clock moves, no window's used + reserved exceeds its quota.
   */
  @Test
  void randomTraffic_neverOverdraws() {
    Random random = new Random(14);
    QuotaLedger ledger = ledger(5_000, 40_000);
    List<QuotaLedger.Reservation> running = new ArrayList<>();
    int admittedCount = 0;
    for (int step = 0; step < 20_000; step++) {
      int op = random.nextInt(10);
      if (op < 5) {
        QuotaDecision d = ledger.reserve("acme", random.nextInt(500), random.nextInt(1500));
        if (d instanceof QuotaDecision.Admitted a) {
          running.add(a.reservation());
          admittedCount++;
        }
      } else if (op < 9 && !running.isEmpty()) {
        QuotaLedger.Reservation r = running.remove(random.nextInt(running.size()));
        ledger.settle(r, (long) (r.tokens() * random.nextDouble()));
      } else {
        clock.advance(Duration.ofMinutes(random.nextInt(180)));
      }
      for (QuotaWindow w : QuotaWindow.values()) {
        long limit = w == QuotaWindow.DAY ? 5_000 : 40_000;
        assertThat(ledger.used("acme", w).getAsLong() + ledger.reserved("acme", w).getAsLong())
            .as("step %d window %s", step, w).isLessThanOrEqualTo(limit);
      }
    }
    assertThat(admittedCount).isGreaterThan(1000);
  }

  @Test
  void draw_partOfALeaseReservation_chargesItAndKeepsTheRestReserved() {
    QuotaLedger ledger = ledger(1000, 10_000);
    QuotaLedger.Reservation lease = admitted(ledger.reserve("acme", 0, 500));

    QuotaLedger.Reservation rest = ledger.draw(lease, 120);
    rest = ledger.draw(rest, 30);

    assertThat(rest.tokens()).isEqualTo(350);
    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(150));
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(350));
    assertThatThrownBy(() -> ledger.draw(lease, 1)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("stale");
    ledger.settle(rest, 0);
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(150));
  }

  @Test
  void draw_moreThanIsLeft_chargesAllOfItAndReservesNothing() {
    QuotaLedger ledger = ledger(1000, 10_000);
    QuotaLedger.Reservation lease = admitted(ledger.reserve("acme", 0, 100));

    QuotaLedger.Reservation rest = ledger.draw(lease, 130);

    assertThat(rest.tokens()).isZero();
    assertThat(ledger.used("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(130));
    assertThat(ledger.reserved("acme", QuotaWindow.DAY)).isEqualTo(OptionalLong.of(0));
  }
}
