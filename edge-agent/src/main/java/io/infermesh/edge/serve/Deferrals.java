package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;

/**
 * Where degraded answers that asked for a re-answer are kept, and where the core's answers are
 * found: the port of {@code io.infermesh.edge.reanswer} ({@code reanswer:}). {@link #NONE} keeps
 * nothing: asking for a re-answer then is a 400. Implementations are thread-safe.
 */
public interface Deferrals {
  /** Re-answers off. */
  Deferrals NONE = new Deferrals() {
    @Override
    public boolean enabled() {
      return false;
    }

    @Override
    public boolean always(Tenant tenant) {
      return false;
    }

    @Override
    public Deferral defer(Escalator.Call replay) {
      throw new IllegalStateException("re-answers are off");
    }

    @Override
    public Answer answer(String id, Tenant tenant) {
      return Answer.UNKNOWN;
    }
  };

  /** Whether requests may ask for a re-answer. */
  boolean enabled();

  /** Whether {@code tenant}'s degraded answers are deferred without asking ({@code reanswer.tenants}). */
  boolean always(Tenant tenant);

  /**
   * Keeps {@code replay} (the request as the core is to be asked: low priority, no fallback) durably
   * before returning its id, or refuses it. Never throws for a full queue or a failed write: those
   * are refusals.
   */
  Deferral defer(Escalator.Call replay);

  /** The re-answer {@code id} as {@code tenant} may see it: another tenant's is {@link Answer#UNKNOWN}. */
  Answer answer(String id, Tenant tenant);

  /**
   * A re-answer as its owner sees it.
   *
   * @param state where it stands
   * @param body the core's answer as OpenAI's JSON ({@link State#ANSWERED}), or the core's error as
   *     OpenAI's error JSON ({@link State#FAILED}); empty otherwise
   */
  record Answer(State state, byte[] body) {
    /** No such id for this tenant. */
    public static final Answer UNKNOWN = new Answer(State.UNKNOWN, new byte[0]);
    /** Queued, not yet answered. */
    public static final Answer PENDING = new Answer(State.PENDING, new byte[0]);

    public Answer {
      requireNonNull(state, "state");
      body = requireNonNull(body, "body").clone();
    }

    @Override
    public byte[] body() {
      return body.clone();
    }
  }

  /** Where a re-answer stands. */
  enum State {
    UNKNOWN,
    PENDING,
    ANSWERED,
    FAILED
  }
}
