package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

/**
 * A rewrite of what leaves the edge for the core, and of the answer that comes back: the seam
 * where a step such as the masking of sensitive values plugs in (rewrite the prompt and the local
 * draft before they are sent, restore the values in the answer stream). It applies to every
 * escalation, a routed one and a cascade's, and to nothing that stays on the edge: the cache, the
 * router and the local engine see the request as the client sent it.
 *
 * <p>{@link #open} is called once per escalation, on the request's thread, before the call is
 * sent; implementations must be thread-safe. The {@link Exchange} it returns belongs to that one
 * request.
 */
@FunctionalInterface
public interface Egress {
  /** Sends every call as it is and passes every answer through. */
  Egress NONE = Exchange::unchanged;

  /** The rewrite of {@code call}, the escalation the edge is about to send. */
  Exchange open(Escalator.Call call);

  /** One escalation's rewrite. */
  interface Exchange {
    /**
     * The call to send instead: e.g. with its {@link CompletionRequest} and local draft rewritten.
     * When the core fails, the edge continues from the text its {@link Escalator.Fallback} is given,
     * so a rewrite whose answer the client sees restored wraps the fallback to restore that text too.
     */
    Escalator.Call call();

    /**
     * The answer as the client reads it, made from the stream the escalation returned. Read by one
     * thread, as that stream is; {@link CompletionStream#cancel()} from any.
     */
    CompletionStream answer(CompletionStream fromCore);

    /** {@code call} sent as it is, its answer passed through. */
    static Exchange unchanged(Escalator.Call call) {
      requireNonNull(call, "call");
      return new Exchange() {
        @Override
        public Escalator.Call call() {
          return call;
        }

        @Override
        public CompletionStream answer(CompletionStream fromCore) {
          return fromCore;
        }
      };
    }
  }
}
