package io.infermesh.edge.escalate;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.certs.Role;
import io.infermesh.certs.TestPki;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.Escalation;
import io.infermesh.edge.config.Routing;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.StreamEvent;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EdgeAgent} wired from config for escalation: a learned router trained at start-up from a
 * JSONL file (tiny model embeddings), and a core that is down, so escalations end degraded.
 */
class EdgeAgentEscalationTest {
  @TempDir Path dir;

  @Test
  void start_learnedScorerAndCoreDown_trainsAndAnswersEveryRequestLocally() throws Exception {
    TestPki pki = TestPki.create(dir);
    Path certs = pki.issue(Role.EDGE, "edge-0").certificateChain().getParent();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      lines.add("{\"prompt\": \"prove the theorem about integrals number " + i + "\", \"needs_core\": true}");
      lines.add("{\"prompt\": \"hello, thanks a lot friend " + i + "\", \"needs_core\": false}");
    }
    Path examples = Files.write(dir.resolve("examples.jsonl"), lines);
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    Escalation e = Escalation.NONE.withTarget("127.0.0.1:" + deadPort, certs, "edge-0");
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config()
            .withEscalation(e)
            .withRouting(Routing.builder().scorer("learned").trainingFile(examples).window(100).build()))
        .engine(TinyModel.engine())
        .start()) {
      for (String prompt : List.of("prove the theorem about integrals", "hello, thanks", "model core please")) {
        CompletionRequest req = new CompletionRequest("", io.infermesh.edge.serve.Operation.CHAT,
            prompt.startsWith("model") ? "core" : "auto",
            List.of(ChatMessage.of(io.infermesh.edge.engine.Role.USER, prompt)), null,
            new SamplingRequest(4, 0.0, null, null, null, List.of()), Map.of(), Optional.empty());
        try (CompletionStream s = agent.service().open(req, Tenant.ANONYMOUS)) {
          StreamEvent end;
          do {
            end = s.next();
          } while (end instanceof StreamEvent.Delta);
          assertThat(end).as(prompt).isInstanceOf(StreamEvent.Done.class);
          assertThat(s.served().route().route()).as(prompt).isIn(Route.EDGE, Route.EDGE_DEGRADED);
          if (prompt.startsWith("model")) {
            assertThat(s.served().route().route()).isEqualTo(Route.EDGE_DEGRADED);
          }
        }
      }
      assertThat(agent.registry().scrape()).contains("infermesh_escalation_core_available");
    }
  }
}
