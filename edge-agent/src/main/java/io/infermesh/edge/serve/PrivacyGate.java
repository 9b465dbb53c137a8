package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.privacy.AnswerFilter;
import io.infermesh.edge.privacy.AnswerRestorer;
import io.infermesh.edge.privacy.Masked;
import io.infermesh.edge.privacy.Masker;
import io.infermesh.edge.privacy.PrivacyAction;
import io.infermesh.edge.privacy.PrivacyPolicies;
import io.infermesh.edge.privacy.PrivacyPolicy;
import io.infermesh.edge.privacy.SensitiveDataBlockedException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The tenant's privacy policy on the request path, at both ends of it.
 *
 * <p>{@link #screen}, before planning: every text of the request (see {@link RequestTexts}) goes
 * through the tenant's {@link Masker}; a {@code block} match refuses it (400 {@value #BLOCKED} naming
 * the detector, never the value), a {@code local_only} match pins it to the edge ({@link
 * Screening#localOnly()}, which the {@link RequestPlanner} obeys), or refuses it (400 {@value
 * #LOCAL_ONLY}) when the caller pinned it to the core ({@code require: core}, a core-only model).
 *
 * <p>{@link #open}, the {@link Egress}: what leaves for the core is masked again (the request with the
 * local draft, so one value keeps one placeholder across both; masking is deterministic, so the
 * request's placeholders are those the screening saw), and the answer's text coming back has the
 * values put back, piece by piece ({@link AnswerRestorer.Stream}), JSON-escaped when the answer is
 * JSON (a schema or tool calls). The core sees placeholders only.
 *
 * <p>{@link #filtered}, the answer the client reads, whatever served it (the edge, the core, a
 * cascade, the cache): the model's text goes through the policy's detectors ({@link AnswerFilter})
 * and each value of a kind the policy masks or blocks that the client did not send itself is
 * replaced by {@code [KIND]}; redactions are counted as {@code
 * infermesh.edge.privacy.matches{kind,action="redact_output"}}.
 *
 * <p>Everything that stays on the edge — the cache, the router, the local engine — reads the
 * client's own text: it does not leave the device, and masking it would only make the local answer
 * worse. Immutable and thread-safe; each exchange belongs to one answer's reader.
 */
final class PrivacyGate implements Egress {
  /** The error code of a request a {@code block} detector refused. */
  static final String BLOCKED = "sensitive_data_blocked";
  /** The error code of a request that must stay on the edge but was pinned to the core. */
  static final String LOCAL_ONLY = "sensitive_data_local_only";

  private final PrivacyPolicies policies;
  private final List<String> coreModels;
  private final EdgeMetrics metrics;

  PrivacyGate(PrivacyPolicies policies, List<String> coreModels, EdgeMetrics metrics) {
    this.policies = requireNonNull(policies, "policies");
    this.coreModels = List.copyOf(coreModels);
    this.metrics = requireNonNull(metrics, "metrics");
  }

  /**
   * What {@code job}'s tenant's policy finds in it.
   *
   * @throws EdgeException INVALID_ARGUMENT ({@value #BLOCKED}) naming the detector of a {@code block}
   *     match; ({@value #LOCAL_ONLY}) for a {@code local_only} match in a request pinned to the core
   */
  Screening screen(Job job) {
    Masker masker = masker(job.tenant());
    if (masker.policy().rules().isEmpty()) {
      return Screening.NONE;
    }
    Masked found = mask(masker, RequestTexts.of(job.request()), job.inputParam());
    found.counts().forEach((kind, n) -> metrics.privacyMatches(kind, action(masker.policy(), kind), n));
    Screening screening = new Screening(masker.policy().name(), found.counts(), found.localOnlyKinds(),
        Optional.of(found));
    if (screening.localOnly()) {
      checkMayStay(job.request(), screening);
    }
    return screening;
  }

  @Override
  public Exchange open(Escalator.Call call) {
    Masker masker = masker(call.tenant());
    if (masker.policy().rules().isEmpty()) {
      return Exchange.unchanged(call);
    }
    List<String> texts = new ArrayList<>(RequestTexts.of(call.request()));
    texts.add(call.localDraft());
    Masked masked = mask(masker, texts, "messages");
    if (masked.localOnly()) { // the request was screened: only the edge's draft can hold these
      throw EdgeException.invalid("messages", LOCAL_ONLY, "the edge's draft answer holds "
          + String.join(", ", masked.localOnlyKinds()) + " data, which privacy policy " + masker.policy().name()
          + " keeps on this node; it is not sent to the core");
    }
    Iterator<String> rewritten = masked.texts().iterator();
    Escalator.Call sent = call.withRequest(RequestTexts.replace(call.request(), rewritten))
        .withLocalDraft(rewritten.next());
    AnswerRestorer restorer = call.request().structured().isText() ? masked.restorer()
        : masked.restorer().jsonEscaped();
    if (restorer.isEmpty()) {
      return () -> sent;
    }
    AnswerRestorer.Stream answer = restorer.stream();
    return new Exchange() {
      @Override
      public Escalator.Call call() {
        return sent;
      }

      @Override
      public String answer(String text) {
        return answer.accept(text);
      }

      @Override
      public String flush() {
        return answer.flush();
      }
    };
  }

  /**
   * {@code answer}, the answer to {@code job}, as its client may read it: through the output filter
   * of the caller's policy; as it is when the policy detects nothing or says {@code output: pass}.
   */
  CompletionStream filtered(Job job, CompletionStream answer) {
    Masker masker = masker(job.tenant());
    if (masker.policy().rules().isEmpty() || !masker.policy().redactsOutput()) {
      return answer;
    }
    // the values screening found are the client's own (masked again only for a job that was not screened)
    Masked own = job.screening().found()
        .orElseGet(() -> mask(masker, RequestTexts.of(job.request()), job.inputParam()));
    AnswerFilter filter = AnswerFilter.of(masker, own);
    AnswerFilter output = job.request().structured().isText() ? filter : filter.json();
    return new FilteredAnswer(answer, output::stream,
        counts -> counts.forEach((kind, n) -> metrics.privacyMatches(kind, "redact_output", n)));
  }

  /** The policy the caller's credential names (a JWT claim, checked at authentication), else its tenant's. */
  private Masker masker(Tenant tenant) {
    return tenant.privacyPolicy().flatMap(policies::named).orElseGet(() -> policies.forTenant(tenant.name()));
  }

  private Masked mask(Masker masker, List<String> texts, String param) {
    try {
      return masker.mask(texts);
    } catch (SensitiveDataBlockedException e) {
      metrics.privacyMatches(e.kind(), "block", 1);
      throw EdgeException.invalid(param, BLOCKED, e.getMessage() + "; remove it, or ask for a policy that masks it");
    }
  }

  /** Refuses a request that must stay on the edge but asks for the core. */
  private void checkMayStay(CompletionRequest request, Screening screening) {
    String why = "the request holds " + String.join(", ", screening.localOnlyKinds()) + " data, which privacy policy "
        + screening.policy() + " keeps on this node (local_only)";
    if ("core".equals(request.hints().get(RoutingHints.REQUIRE))) {
      throw EdgeException.invalid(RoutingHints.REQUIRE, LOCAL_ONLY, why + ", but require: 'core' sends it to the "
          + "core; drop require or the data");
    }
    String model = request.model();
    if (model.equals("core") || coreModels.contains(model)) {
      throw EdgeException.invalid("model", LOCAL_ONLY, why + ", but model '" + RoutingHints.echo(model)
          + "' is served by the core only; ask for model 'edge' or 'auto', or drop the data");
    }
  }

  private static String action(PrivacyPolicy policy, String kind) {
    for (PrivacyPolicy.Rule rule : policy.rules()) {
      if (rule.detector().kind().equals(kind)) {
        return rule.action().name().toLowerCase(Locale.ROOT);
      }
    }
    return PrivacyAction.MASK.name().toLowerCase(Locale.ROOT);
  }
}
