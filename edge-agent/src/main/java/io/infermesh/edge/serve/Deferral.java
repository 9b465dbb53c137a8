package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * What became of a request's ask for a deferred re-answer (HTTP {@code x-infermesh-reanswer:
 * deferred}, gRPC hint {@code reanswer}) once its answer turned {@code edge-degraded}: kept, under
 * {@link #id()}, to be asked again of the core when it is back; or refused, for {@link #reason()}.
 * A refusal never costs the request its degraded answer. Immutable.
 *
 * @param id the re-answer's id ({@code GET /v1/infermesh/answers/{id}}), empty when refused
 * @param reason why it was refused ({@code queue-full}, {@code privacy-policy}, …), empty when kept
 */
public record Deferral(String id, String reason) {
  /** A re-answer id: {@code ra_} and 32 lower-case hex digits (128 random bits). */
  public static final Pattern ID = Pattern.compile("ra_[0-9a-f]{32}");
  /** The queue holds {@code reanswer.max_entries} or {@code reanswer.max_bytes}: nothing old is dropped. */
  public static final String QUEUE_FULL = "queue-full";
  /** The tenant's privacy policy masks what leaves for the core; a replay from disk would bypass it. */
  public static final String PRIVACY_POLICY = "privacy-policy";
  /** Tool calls are answered as parsed calls, which a stored re-answer does not carry. */
  public static final String TOOL_CALLS = "tool-calls";
  /** The queue could not be written (the disk); the request keeps its degraded answer. */
  public static final String STORE_FAILED = "store-failed";

  public Deferral {
    requireNonNull(id, "id");
    requireNonNull(reason, "reason");
    if (id.isEmpty() == reason.isEmpty()) {
      throw new IllegalArgumentException("a deferral has an id or a reason, got id '" + id + "', reason '" + reason
          + "'");
    }
    if (!id.isEmpty() && !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("a re-answer id is ra_ and 32 hex digits, got '" + id + "'");
    }
  }

  /** Kept under {@code id}. */
  public static Deferral deferred(String id) {
    return new Deferral(id, "");
  }

  /** Refused for {@code reason}. */
  public static Deferral refused(String reason) {
    return new Deferral("", reason);
  }

  /** Whether it was kept. */
  public boolean deferred() {
    return !id.isEmpty();
  }

  /** The {@code x-infermesh-reanswer} response value: {@code deferred} or {@code refused}. */
  public String status() {
    return deferred() ? "deferred" : "refused";
  }
}
