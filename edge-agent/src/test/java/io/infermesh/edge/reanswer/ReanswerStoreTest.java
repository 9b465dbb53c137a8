package io.infermesh.edge.reanswer;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.serve.Deferral;
import io.infermesh.edge.serve.Deferrals;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ReanswerStore} on a real SQLite file: bounds, ownership, one outcome per id, and reopening. */
class ReanswerStoreTest {
  @TempDir Path dir;

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void defer_fullByEntries_refusesTheNewAndKeepsTheOld() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 2, 1 << 20)) {
      Deferral a = store.defer("acme", bytes("a"), 1);
      Deferral b = store.defer("acme", bytes("b"), 2);
      Deferral c = store.defer("acme", bytes("c"), 3);

      assertThat(a.deferred()).isTrue();
      assertThat(b.deferred()).isTrue();
      assertThat(c).isEqualTo(Deferral.refused(Deferral.QUEUE_FULL));
      assertThat(store.pending(10)).extracting(ReanswerStore.Pending::id).containsExactly(a.id(), b.id());
    }
  }

  @Test
  void defer_fullByBytes_refusesTheNew() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 100, 4096)) {
      assertThat(store.defer("acme", new byte[4000], 1).deferred()).isTrue();

      assertThat(store.defer("acme", new byte[200], 2)).isEqualTo(Deferral.refused(Deferral.QUEUE_FULL));
      assertThat(store.pendingCount()).isEqualTo(1);
    }
  }

  @Test
  void find_anotherTenantsId_isUnknown() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 10, 1 << 20)) {
      String id = store.defer("acme", bytes("q"), 1).id();

      assertThat(store.find(id, "acme").state()).isEqualTo(Deferrals.State.PENDING);
      assertThat(store.find(id, "globex")).isEqualTo(Deferrals.Answer.UNKNOWN);
      store.answer(id, true, bytes("{}"), 2, false);
      assertThat(store.find(id, "globex")).isEqualTo(Deferrals.Answer.UNKNOWN);
      assertThat(store.find(id, "acme").state()).isEqualTo(Deferrals.State.ANSWERED);
    }
  }

  @Test
  void answer_twice_keepsTheFirst() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 10, 1 << 20)) {
      String id = store.defer("acme", bytes("q"), 1).id();

      assertThat(store.answer(id, true, bytes("first"), 2, true)).isTrue();
      assertThat(store.answer(id, true, bytes("second"), 3, true)).isFalse();

      assertThat(new String(store.find(id, "acme").body(), StandardCharsets.UTF_8)).isEqualTo("first");
      assertThat(store.pending(10)).isEmpty();
      assertThat(store.dueDeliveries(2, 10)).extracting(ReanswerStore.Delivery::id).containsExactly(id);
    }
  }

  @Test
  void open_again_findsWhatWasKept() throws Exception {
    String waiting;
    String answered;
    try (ReanswerStore store = ReanswerStore.open(dir, 10, 1 << 20)) {
      waiting = store.defer("acme", bytes("w"), 1).id();
      answered = store.defer("acme", bytes("a"), 2).id();
      store.answer(answered, true, bytes("{\"ok\":1}"), 3, false);
    }

    try (ReanswerStore store = ReanswerStore.open(dir, 10, 1 << 20)) {
      List<ReanswerStore.Pending> pending = store.pending(10);
      assertThat(pending).extracting(ReanswerStore.Pending::id).containsExactly(waiting);
      assertThat(pending.get(0).request()).isEqualTo(bytes("w"));
      assertThat(store.find(answered, "acme").state()).isEqualTo(Deferrals.State.ANSWERED);
    }
  }

  @Test
  void expire_dropsOldAnswersOnly_andFreesRoom() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 2, 1 << 20)) {
      String old = store.defer("acme", bytes("o"), 1).id();
      String waiting = store.defer("acme", bytes("w"), 2).id();
      store.answer(old, true, bytes("{}"), 10, false);
      assertThat(store.defer("acme", bytes("n"), 11).deferred()).isFalse();

      assertThat(store.expire(11)).isEqualTo(1);

      assertThat(store.find(old, "acme")).isEqualTo(Deferrals.Answer.UNKNOWN);
      assertThat(store.find(waiting, "acme").state()).isEqualTo(Deferrals.State.PENDING);
      assertThat(store.defer("acme", bytes("n"), 12).deferred()).isTrue();
    }
  }

  @Test
  void delivered_failedUntilGivenUp_leavesTheDueList() throws Exception {
    try (ReanswerStore store = ReanswerStore.open(dir, 10, 1 << 20)) {
      String id = store.defer("acme", bytes("q"), 1).id();
      store.answer(id, true, bytes("{}"), 2, true);

      store.delivered(id, false, Optional.of(100L));
      assertThat(store.dueDeliveries(99, 10)).isEmpty();
      assertThat(store.dueDeliveries(100, 10)).extracting(ReanswerStore.Delivery::attempts).containsExactly(1);
      store.delivered(id, false, Optional.empty());
      assertThat(store.dueDeliveries(Long.MAX_VALUE, 10)).isEmpty();
    }
  }
}
