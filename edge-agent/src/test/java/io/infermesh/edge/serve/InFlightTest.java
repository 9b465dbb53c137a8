package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The ledger of requests in flight: admission, drain, waiting for idleness, abort. */
class InFlightTest {
  private static final Runnable NOTHING = () -> { };
  private final InFlight ledger = new InFlight();

  /** An entry that remembers why it was aborted. */
  private static final class Recorded implements InFlight.Entry {
    final List<EdgeException> aborts = new ArrayList<>();

    @Override
    public synchronized void abort(EdgeException reason) {
      aborts.add(reason);
    }
  }

  @Test
  void enter_open_countsTheEntryUntilItLeaves() {
    Recorded a = new Recorded();
    Recorded b = new Recorded();

    ledger.enter(a, NOTHING);
    ledger.enter(b, NOTHING);
    ledger.leave(a);
    ledger.leave(a); // a second leave changes nothing

    assertThat(ledger.size()).isEqualTo(1);
  }

  @Test
  void enter_draining_isUnavailableUndoneAndNotCounted() {
    ledger.drain();
    AtomicBoolean undone = new AtomicBoolean();

    assertThatThrownBy(() -> ledger.enter(new Recorded(), () -> undone.set(true)))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE))
        .hasMessageContaining("shutting down");
    assertThat(undone).isTrue();
    assertThatThrownBy(ledger::checkOpen).isInstanceOf(EdgeException.class);
    assertThat(ledger.size()).isZero();
    assertThat(ledger.draining()).isTrue();
  }

  @Test
  void join_draining_admitsTheContinuationOfAnAdmittedRequest() throws Exception {
    ledger.drain();

    ledger.join(new Recorded());

    assertThat(ledger.size()).isEqualTo(1);
    assertThat(ledger.awaitIdle(Duration.ofMillis(20))).isFalse();
  }

  @Test
  void awaitIdle_noEntries_returnsAtOnce() throws Exception {
    assertThat(ledger.awaitIdle(Duration.ZERO)).isTrue();
  }

  @Test
  void awaitIdle_entryStays_isFalseWhenTheTimeoutRunsOut() throws Exception {
    ledger.enter(new Recorded(), NOTHING);

    assertThat(ledger.awaitIdle(Duration.ofMillis(20))).isFalse();
  }

  @Test
  void awaitIdle_lastEntryLeavesWhileWaiting_wakesTheWaiter() throws Exception {
    Recorded a = new Recorded();
    Recorded b = new Recorded();
    ledger.enter(a, NOTHING);
    ledger.enter(b, NOTHING);
    CompletableFuture<Boolean> idle = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        idle.complete(ledger.awaitIdle(Duration.ofMinutes(1)));
      } catch (InterruptedException e) {
        idle.completeExceptionally(e);
      }
    }, "idle-waiter");
    waiter.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> waiter.getState() == Thread.State.TIMED_WAITING);

    ledger.leave(a);
    assertThat(idle).isNotDone();
    ledger.leave(b);

    assertThat(idle.get(10, TimeUnit.SECONDS)).isTrue(); // long before its minute
  }

  @Test
  void abortAll_entriesInFlight_abortsEachWithTheReason() {
    Recorded a = new Recorded();
    Recorded b = new Recorded();
    Recorded gone = new Recorded();
    ledger.enter(a, NOTHING);
    ledger.enter(b, NOTHING);
    ledger.enter(gone, NOTHING);
    ledger.leave(gone);
    EdgeException reason = EdgeException.unavailable("shutting down");

    ledger.abortAll(reason);

    assertThat(a.aborts).containsExactly(reason);
    assertThat(b.aborts).containsExactly(reason);
    assertThat(gone.aborts).isEmpty();
    assertThat(ledger.size()).isEqualTo(2); // aborted entries leave when their readers see the end
  }

  @Test
  void requestId_givenOrNot_keepsTheCallersOrMakesAUniqueOne() {
    String made = InFlight.requestId("");

    assertThat(InFlight.requestId("client-7")).isEqualTo("client-7");
    assertThat(made).matches("req-[0-9a-f]{32}");
    assertThat(InFlight.requestId("")).isNotEqualTo(made);
  }
}
