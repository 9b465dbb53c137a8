package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

/**
 * A rewrite of what leaves the edge for the core, and of the answer that comes back: the seam
 * where a step such as the masking of sensitive values plugs in (rewrite the prompt and the local
 * draft before they are sent, restore the values in the answer's text). It applies to every
 * escalation, a routed one and a cascade's, and to nothing that stays on the edge: the cache, the
 * router and the local engine see the request as the client sent it.
 *
 * <p>If the core fails mid-answer, the edge continues from the text the client was shown (the
 * rewritten text, with whatever {@link Exchange#flush} returns at that moment), and its own text
 * passes unrewritten. {@link #NONE} adds nothing to the path.
 *
 * <p>{@link #open} is called once per escalation, on the request's thread, before the call is
 * sent; implementations must be thread-safe. The {@link Exchange} it returns belongs to that one
 * request and is confined to the thread that reads its answer.
 */
@FunctionalInterface
public interface Egress {
  /** Sends every call as it is and passes every answer through, without wrapping either. */
  Egress NONE = Exchange::unchanged;

  /** The rewrite of {@code call}, the escalation the edge is about to send. */
  Exchange open(Escalator.Call call);

  /** One escalation's rewrite. */
  interface Exchange {
    /**
     * The call to send instead, e.g. with its request ({@link Escalator.Call#withRequest}) and local
     * draft rewritten. Its fallback is the edge's own and is kept.
     */
    Escalator.Call call();

    /**
     * The client's text for {@code text}, the next piece of the core's answer. It may hold back
     * part of it (a value split across pieces), returning less, until a later piece or {@link
     * #flush} completes it.
     */
    default String answer(String text) {
      return text;
    }

    /**
     * The client's text for whatever is held back: called once, when the core's answer ends (or
     * fails), or when the edge takes over after a core failure.
     */
    default String flush() {
      return "";
    }

    /** {@code call} sent as it is, its answer passed through. */
    static Exchange unchanged(Escalator.Call call) {
      requireNonNull(call, "call");
      return () -> call;
    }
  }
}
