package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CascadePolicy;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out {@link Plan.Cascade} ({@code routing.cascade}): the local draft, then the short
 * samples, one generation after another on the caller's thread, each admitted like any local
 * request; the plan's policy judges the samples' agreement. A kept draft is replayed ({@code edge},
 * {@code cascade-accepted}); a weak one escalates with the draft attached ({@code core}, {@code
 * cascade-rejected}). The draft is not streamed until it is judged. Thread-safe.
 */
final class CascadeRun {
  private static final Logger log = LoggerFactory.getLogger(CascadeRun.class);

  private final LocalGenerations local;
  private final Escalations escalations;
  private final Accounting accounting;

  CascadeRun(LocalGenerations local, Escalations escalations, Accounting accounting) {
    this.local = requireNonNull(local, "local");
    this.escalations = requireNonNull(escalations, "escalations");
    this.accounting = requireNonNull(accounting, "accounting");
  }

  /**
   * Runs {@code plan} for {@code job} on {@code engine}.
   *
   * @throws EdgeException when a generation is refused or fails, CANCELLED when interrupted
   */
  CompletionStream run(Job job, Engine engine, Plan.Cascade plan) {
    try {
      StringBuilder draft = new StringBuilder();
      StreamEvent.Done done = readWhole(local.start(LocalGenerations.Attempt.of(job, engine, plan.draft())), draft);
      List<String> samples = new ArrayList<>(plan.samples().size());
      for (SamplingParams sampling : plan.samples()) {
        Plan.Local sample = new Plan.Local(plan.decision(), plan.draft().prompt(), sampling, Optional.empty());
        StringBuilder text = new StringBuilder();
        readWhole(local.start(LocalGenerations.Attempt.of(job, engine, sample)), text);
        samples.add(text.toString());
      }
      RouteDecision verdict = plan.policy().judge(samples);
      accounting.decided(verdict);
      if (log.isDebugEnabled()) {
        log.debug("request {}: cascade {} (agreement {})", job.id(), verdict.reason(),
            CascadePolicy.agreement(samples));
      }
      if (verdict.route() == Route.CORE) {
        return escalations.run(job, engine, plan.escalation().as(verdict), draft.toString());
      }
      ModelInfo model = engine.info();
      Usage u = done.usage();
      return new ReplayStream(new Served(job.id(), verdict, model.name(), model.version()),
          CachedCompletion.of(draft.length() == 0 ? List.of() : List.of(draft.toString()), done.finishReason(),
              u.promptTokens(), u.completionTokens()), u.cachedTokens());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw EdgeException.cancelled("interrupted while checking the local draft");
    }
  }

  /** Reads a local generation to its end; throws its failure. */
  private static StreamEvent.Done readWhole(CompletionStream stream, StringBuilder text) throws InterruptedException {
    try (stream) {
      StreamEvent end = stream.readRest(text);
      if (end instanceof StreamEvent.Failed failed) {
        throw failed.error();
      }
      return (StreamEvent.Done) end;
    }
  }
}
