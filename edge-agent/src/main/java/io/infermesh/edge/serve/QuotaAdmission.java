package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.node.quota.QuotaDecision;
import io.infermesh.node.quota.QuotaLedger;

/**
 * Admits a planned request against its tenant's token quotas per day and month ({@link
 * QuotaLedger}): it reserves the plan's worst case — prompt + {@code max_tokens} (× {@code n} when the core
 * answers {@code n} choices in one call); for a cascade the
 * draft, every sample and the escalation, each with its prompt — and hands the job its {@link Meter},
 * which is settled with the real usage when the request ends. A cache hit uses no tokens and is not
 * metered. Thread-safe.
 */
final class QuotaAdmission {
  private final QuotaLedger ledger;

  QuotaAdmission(QuotaLedger ledger) {
    this.ledger = requireNonNull(ledger, "ledger");
  }

  /**
   * {@code job} holding its reservation for {@code plan}.
   *
   * @throws EdgeException RATE_LIMITED naming the quota ({@code tokens_per_day}, {@code
   *     tokens_per_month}) with a retry hint until the window resets; INVALID_ARGUMENT on {@code
   *     max_tokens} when the worst case alone exceeds the quota (waiting would not help)
   */
  Job admit(Job job, Plan plan) {
    long prompt = promptTokens(plan);
    if (prompt < 0) {
      return job;
    }
    QuotaDecision decision = ledger.reserve(job.tenant().name(), prompt,
        worstCase(plan, job.request().choices()) - prompt);
    if (decision instanceof QuotaDecision.Refused refused) {
      String name = refused.window().quotaName();
      if (refused.neverFits()) {
        throw EdgeException.invalid("max_tokens", name, "max_tokens: " + refused.message());
      }
      throw EdgeException.rateLimited(name, "Token quota reached for tenant '" + job.tenant().name() + "': "
          + refused.message() + "; retry after " + EdgeException.seconds(refused.retryAfter()) + " s.",
          refused.retryAfter());
    }
    return job.metered(Meter.of(ledger, ((QuotaDecision.Admitted) decision).reservation(), prompt));
  }

  /** The prompt's tokens of a plan that generates; -1 for one that does not (a cache hit, a refusal). */
  private static long promptTokens(Plan plan) {
    if (plan instanceof Plan.Local local) {
      return local.prompt().tokens();
    }
    if (plan instanceof Plan.Core core) {
      return core.prompt().tokens();
    }
    if (plan instanceof Plan.Cascade cascade) {
      return cascade.draft().prompt().tokens();
    }
    return -1;
  }

  /**
   * Every token {@code plan} may use: each generation's prompt and completion budget. The core
   * answers all {@code choices} of a request in one call (one prompt, a budget each); the edge
   * generates only the first, the others come as requests of their own, each admitted itself.
   */
  static long worstCase(Plan plan, int choices) {
    if (plan instanceof Plan.Local local) {
      return local.prompt().tokens() + (long) local.sampling().maxTokens();
    }
    if (plan instanceof Plan.Core core) {
      return core.prompt().tokens() + (long) choices * core.sampling().maxTokens();
    }
    if (plan instanceof Plan.Cascade cascade) {
      long prompt = cascade.draft().prompt().tokens();
      long worst = worstCase(cascade.draft(), choices) + worstCase(cascade.escalation(), choices);
      for (SamplingParams sample : cascade.samples()) {
        worst += prompt + sample.maxTokens();
      }
      return worst;
    }
    return 0;
  }
}
