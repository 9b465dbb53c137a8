package io.infermesh.edge.reanswer;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.edge.route.CoreState;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the queued requests to the core when it is back, oldest first, one at a time, and stores
 * each answer once ({@link ReanswerStore#answer} takes only a pending row). A send is at least once:
 * a crash after the core answered and before the commit sends it again on restart, and the first
 * stored answer stays.
 *
 * <p>Each {@link #round} looks at the core ({@link CoreLink#state}); while it is unusable and
 * requests wait, it drops the reconnect backoff every {@link #PROBE_EVERY} so a core that came back
 * is found within seconds, not after gRPC's backoff of up to two minutes. A send that fails ends the
 * round and is tried in a later one: after UNAVAILABLE (the core is not there) without limit, after
 * another status that may pass (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, …) at most {@link
 * #MAX_ATTEMPTS} times in all; a status that will not
 * (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED) is stored as the
 * re-answer's error at once. Confined to the one thread that calls {@link #round}.
 */
final class Replayer {
  private static final Logger log = LoggerFactory.getLogger(Replayer.class);
  /** Sends tried per request before its re-answer becomes an error. */
  static final int MAX_ATTEMPTS = 20;
  static final Duration PROBE_EVERY = Duration.ofSeconds(2);
  private static final int BATCH = 16;
  private static final Set<Status.Code> FINAL = EnumSet.of(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND,
      Status.Code.FAILED_PRECONDITION, Status.Code.OUT_OF_RANGE, Status.Code.UNIMPLEMENTED);

  private final ReanswerStore store;
  private final CoreLink core;
  private final Clock clock;
  private final Duration timeout;
  private final Duration ttl;
  private final boolean webhook;
  private long lastProbe = Long.MIN_VALUE;

  Replayer(ReanswerStore store, CoreLink core, Clock clock, Duration timeout, Duration ttl, boolean webhook) {
    this.store = requireNonNull(store, "store");
    this.core = requireNonNull(core, "core");
    this.clock = requireNonNull(clock, "clock");
    this.timeout = requireNonNull(timeout, "timeout");
    this.ttl = requireNonNull(ttl, "ttl");
    this.webhook = webhook;
  }

  /** Expires old answers, then replays what waits while the core takes it. Returns how many were answered. */
  int round() {
    long now = clock.millis();
    int expired = store.expire(now - ttl.toMillis());
    if (expired > 0) {
      log.debug("reanswer: {} answers expired", expired);
    }
    List<ReanswerStore.Pending> batch = store.pending(BATCH);
    if (batch.isEmpty()) {
      return 0;
    }
    if (core.state() != CoreState.AVAILABLE) {
      if (now - lastProbe >= PROBE_EVERY.toMillis() || now < lastProbe) {
        lastProbe = now;
        core.reconnectNow();
      }
      return 0;
    }
    int answered = 0;
    for (ReanswerStore.Pending p : batch) {
      if (!send(p)) {
        break;
      }
      answered++;
    }
    return answered;
  }

  /** Sends one; returns whether it has its outcome now. */
  private boolean send(ReanswerStore.Pending p) {
    GenerateRequest request;
    try {
      request = GenerateRequest.parseFrom(p.request());
    } catch (InvalidProtocolBufferException e) {
      log.error("reanswer {}: the stored request does not parse; it is answered with an error", p.id());
      store.answer(p.id(), false, AnswerDocument.refused(p.id(), GenerateRequest.getDefaultInstance(),
          Status.DATA_LOSS.withDescription("the stored request is damaged")), clock.millis(), webhook);
      return true;
    }
    try {
      byte[] body = AnswerDocument.read(p.id(), request, core.generate(request, timeout), clock.instant().getEpochSecond());
      if (store.answer(p.id(), true, body, clock.millis(), webhook)) {
        log.info("reanswer {}: the core answered request {}", p.id(), request.getRequestId());
      }
      return true;
    } catch (StatusRuntimeException e) {
      Status status = e.getStatus();
      if (FINAL.contains(status.getCode()) || p.attempts() + 1 >= MAX_ATTEMPTS) {
        log.warn("reanswer {}: the core refused it ({}: {}); stored as its error", p.id(), status.getCode(),
            status.getDescription());
        store.answer(p.id(), false, AnswerDocument.refused(p.id(), request, status), clock.millis(), webhook);
        return true;
      }
      if (status.getCode() != Status.Code.UNAVAILABLE) {
        store.attempted(p.id());
      }
      log.info("reanswer {}: not answered yet ({}); trying again later", p.id(), status.getCode());
      return false;
    }
  }
}
