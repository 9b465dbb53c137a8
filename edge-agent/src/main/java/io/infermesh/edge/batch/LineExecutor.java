package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.auth.Tenant;
import java.time.Duration;

/**
 * Runs one batch line through the path interactive requests take (the transport-free half of the
 * HTTP API: parsing, the {@code CompletionService}, the answer's JSON), as {@code tenant} at low
 * priority. Thread-safe.
 */
public interface LineExecutor {
  /** Runs {@code line}; an interrupt aborts it (then {@link Outcome.Retry}). */
  Outcome run(ClaimedLine line, Tenant tenant);

  /** What running a line came to. */
  sealed interface Outcome {
    /** Answered: the answer (2xx) or the refusal (4xx, 5xx) with OpenAI's error JSON; final either way. */
    record Answered(int status, String requestId, JsonNode body) implements Outcome {
      public Answered {
        requireNonNull(requestId, "requestId");
        requireNonNull(body, "body");
      }
    }

    /** Not run now (the engine busy, the tenant's rate spent, the agent draining): claim it again after {@code after}. */
    record Retry(String reason, Duration after) implements Outcome {
      public Retry {
        requireNonNull(reason, "reason");
        requireNonNull(after, "after");
      }
    }
  }
}
