package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.engine.SamplingParams;

/**
 * Where the answers the edge gave on its own are offered for a second opinion (shadow escalation,
 * {@code io.infermesh.edge.calibrate}). The service offers only answers that could have left the
 * edge: routed {@code edge} for low difficulty (so never a {@code privacy: local-only} request, a
 * local-only tenant or the {@code edge} alias), with nothing the tenant's privacy policy found
 * (nothing masked, nothing local-only), free text, one choice, completed normally.
 *
 * <p>Implementations are thread-safe and never block: both methods run on request threads.
 */
public interface LocalAnswerTap {
  /** Offers nothing. */
  LocalAnswerTap NONE = new LocalAnswerTap() {
    @Override
    public boolean sample() {
      return false;
    }

    @Override
    public void answered(LocalAnswer answer) {}
  };

  /**
   * Whether to keep this eligible answer's text for {@link #answered}: asked once per eligible request
   * when its generation is admitted (the sampling decision).
   */
  boolean sample();

  /** A sampled answer finished; must return at once (queue it or drop it). */
  void answered(LocalAnswer answer);

  /**
   * One answer the edge gave.
   *
   * @param requestId the client's request id
   * @param tenant who asked (the shadow is not charged to it)
   * @param request the request as the client sent it
   * @param sampling the sampling the edge answered with
   * @param promptText the text the router scored (the chat's contents, or the raw prompt)
   * @param answer the edge's answer
   */
  record LocalAnswer(String requestId, Tenant tenant, CompletionRequest request, SamplingParams sampling,
      String promptText, String answer) {
    public LocalAnswer {
      requireNonNull(requestId, "requestId");
      requireNonNull(tenant, "tenant");
      requireNonNull(request, "request");
      requireNonNull(sampling, "sampling");
      requireNonNull(promptText, "promptText");
      requireNonNull(answer, "answer");
    }
  }
}
