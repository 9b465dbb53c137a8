package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.metrics.EdgeMetrics;
import io.infermesh.edge.privacy.Detectors;
import io.infermesh.edge.privacy.PrivacyAction;
import io.infermesh.edge.privacy.PrivacyPolicies;
import io.infermesh.edge.privacy.PrivacyPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The answer side of the privacy gate: the output filter on whatever served the answer (here the cache). */
class PrivacyGateTest {
  private static final ModelInfo MODEL = new ModelInfo("edge-model", "0123456789ab", "ab".repeat(32), 256, 1,
      "chatml");
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private PrivacyGate gate(boolean redactOutput) {
    PrivacyPolicy pii = PrivacyPolicy.builder("pii")
        .detector(Detectors.email(), PrivacyAction.MASK)
        .detector(Detectors.paymentCard(), PrivacyAction.BLOCK)
        .redactOutput(redactOutput)
        .build();
    PrivacyPolicies policies = PrivacyPolicies.builder().policy(pii).tenant("acme", "pii").build();
    return new PrivacyGate(policies, List.of(), EdgeMetrics.of(registry));
  }

  private static Job job(String tenant, String prompt) {
    return new Job("req-1", new Tenant(tenant, 0, 0), CompletionRequest.text(prompt, SamplingRequest.DEFAULTS),
        new Job.Terms(MODEL, new SamplingParams(90, 0f, 1f, 0, OptionalLong.empty(), List.of()), Priority.NORMAL),
        new Job.Window(0, 1));
  }

  private static ReplayStream cached(String... chunks) {
    return new ReplayStream("req-1", "edge-model", "1", CachedCompletion.of(List.of(chunks), FinishReason.STOP, 10, 3));
  }

  private static String text(List<StreamEvent> events) {
    StringBuilder b = new StringBuilder();
    events.stream().filter(StreamEvent.Delta.class::isInstance).forEach(e -> b.append(((StreamEvent.Delta) e).text()));
    return b.toString();
  }

  @Test
  void filtered_cachedAnswerWithACardAndAForeignEmail_redactedOwnEmailKeptAndCounted() throws Exception {
    CompletionStream answer = gate(true).filtered(job("acme", "write to alice@example.com"),
        cached("Mail alice@exa", "mple.com, eve@evil.exam", "ple or 4111 1111 ", "1111 1111 now"));

    List<StreamEvent> events = StreamEvents.untilEnd(answer);

    assertThat(text(events)).isEqualTo("Mail alice@example.com, [EMAIL] or [CREDIT_CARD] now");
    assertThat(events.get(events.size() - 1)).isInstanceOf(StreamEvent.Done.class);
    assertThat(registry.get("infermesh.edge.privacy.matches").tag("kind", "CREDIT_CARD")
        .tag("action", "redact_output").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("infermesh.edge.privacy.matches").tag("kind", "EMAIL")
        .tag("action", "redact_output").counter().count()).isEqualTo(1.0);
  }

  @Test
  void filtered_policyWithOutputPass_answerAsItIs() throws Exception {
    CompletionStream answer = cached("card 4111 1111 1111 1111");

    CompletionStream filtered = gate(false).filtered(job("acme", "hello"), answer);

    assertThat(filtered).isSameAs(answer);
    assertThat(text(StreamEvents.untilEnd(filtered))).isEqualTo("card 4111 1111 1111 1111");
  }

  @Test
  void filtered_tenantWithoutAPolicy_answerAsItIs() {
    CompletionStream answer = cached("card 4111 1111 1111 1111");

    assertThat(gate(true).filtered(job("other", "hello"), answer)).isSameAs(answer);
  }
}
