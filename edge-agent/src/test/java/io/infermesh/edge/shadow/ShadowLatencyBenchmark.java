package io.infermesh.edge.shadow;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Shadow;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.escalate.CoreClient;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.node.telemetry.Tracing;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The caller's escalation latency with shadow traffic off and on (every request mirrored), over
 * real mTLS to a real gRPC core whose shadow version answers 50 ms late: the caller's figures must
 * not move by those 50 ms. Not part of {@code verify}:
 *
 * <pre>./mvnw -o -pl edge-agent -am test -Dtest=ShadowLatencyBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
class ShadowLatencyBenchmark {

  private static final int CALLS = 500;

  @TempDir Path dir;

  @Test
  void callerLatency_shadowOffVersusEveryRequestMirrored() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles edge = pki.issue(Role.EDGE, "edge-0");
    ScheduledExecutorService late = Executors.newSingleThreadScheduledExecutor();
    try (PinRoutingCore core = new PinRoutingCore(pki, (request, pin, out) -> {
      if (pin == null) {
        PinRoutingCore.answer(out, "the same answer");
      } else {
        late.schedule(() -> PinRoutingCore.answer(out, "the same answer"), 50, TimeUnit.MILLISECONDS);
      }
    })) {
      Escalation.Builder base = Escalation.builder().target(core.target())
          .tls(edge.certificateChain().getParent(), "edge-0").timeout(Duration.ofSeconds(20));
      measure("shadow off", base.build(), null);
      SimpleMeterRegistry meters = new SimpleMeterRegistry();
      measure("shadow 100%", base.shadow(new Shadow("v2", 1.0, 64)).build(), meters);
      System.out.printf("SHADOW mirrored %.0f, dropped %.0f, answered %.0f, compared %d (mean prefix %.2f)%n",
          meters.find("infermesh.shadow.requests").tag("outcome", "mirrored").counter().count(),
          meters.find("infermesh.shadow.requests").tag("outcome", "dropped").counter().count(),
          meters.find("infermesh.shadow.requests").tag("outcome", "answered").counter().count(),
          meters.find("infermesh.shadow.agreement.prefix").summary().count(),
          meters.find("infermesh.shadow.agreement.prefix").summary().mean());
    } finally {
      late.shutdownNow();
    }
  }

  private static void measure(String name, Escalation config, SimpleMeterRegistry meters) throws Exception {
    try (CoreClient client = CoreClient.connect(config, new EdgeConfig.Node("edge-0", "bench"), Tracing.off(),
        meters == null ? new SimpleMeterRegistry() : meters)) {
      long[] t = new long[CALLS];
      for (int i = -100; i < CALLS; i++) { // 100 warm-up calls
        long t0 = System.nanoTime();
        CompletionStream s = client.escalate(new Escalator.Call("r" + i,
            CompletionRequest.text("hi", SamplingRequest.DEFAULTS), new Tenant("acme", 0, 0),
            new RouteDecision(Route.CORE, "difficulty-high"),
            new SamplingParams(8, 0f, 1f, 0, OptionalLong.empty(), List.of()), Duration.ofSeconds(20), null));
        StreamEvent e;
        while ((e = s.next()) instanceof StreamEvent.Delta) {
          // read to the end, as a caller does
        }
        assertThat(e).isInstanceOf(StreamEvent.Done.class);
        if (i >= 0) {
          t[i] = System.nanoTime() - t0;
        }
      }
      Arrays.sort(t);
      System.out.printf("SHADOW %-12s caller escalation latency p50 %.2f ms p99 %.2f ms max %.2f ms (n=%d)%n", name,
          t[CALLS / 2] / 1e6, t[CALLS * 99 / 100] / 1e6, t[CALLS - 1] / 1e6, CALLS);
    }
  }
}
