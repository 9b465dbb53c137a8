package io.infermesh.edge.shadow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
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
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shadow traffic through a real {@link CoreClient} over real mTLS to a real gRPC core that routes by
 * the pin header the way the control plane's pin routes do ({@link PinRoutingCore}): unpinned calls get the primary answer
 * at once, calls pinned to {@code v2} (the shadow) are held until the test lets them answer — so
 * the caller's answer arriving while its mirror is still held proves the caller never waits for it.
 */
class ShadowTrafficTest {

  @TempDir Path dir;
  private PinRoutingCore core;
  private CoreClient client;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final BlockingQueue<GenerateRequest> unpinned = new LinkedBlockingQueue<>();
  /** Mirrored calls that reached the shadow and wait for an answer. */
  private final BlockingQueue<Held> held = new LinkedBlockingQueue<>();

  private record Held(GenerateRequest request, String pin, StreamObserver<GenerateChunk> out) {}

  @BeforeEach
  void start() throws Exception {
    TestPki pki = TestPki.create(dir);
    MeshCredentialFiles edge = pki.issue(Role.EDGE, "edge-0");
    core = new PinRoutingCore(pki, (request, pin, out) -> {
      if (pin == null) {
        unpinned.add(request);
        PinRoutingCore.answer(out, "the quick brown fox");
      } else {
        held.add(new Held(request, pin, out));
      }
    });
    Escalation config = Escalation.builder().target(core.target())
        .tls(edge.certificateChain().getParent(), "edge-0").timeout(Duration.ofSeconds(20))
        .shadow(new Shadow("v2", 1.0, 1)).build();
    client = CoreClient.connect(config, new EdgeConfig.Node("edge-0", "test-1"), Tracing.off(), meters);
  }

  @AfterEach
  void stop() {
    client.close();
    core.close();
  }

  private static Escalator.Call call(String id) {
    return new Escalator.Call(id, CompletionRequest.text("say something", SamplingRequest.DEFAULTS),
        new Tenant("acme", 0, 0), new RouteDecision(Route.CORE, "difficulty-high"),
        new SamplingParams(8, 0f, 1f, 0, OptionalLong.empty(), List.of()), Duration.ofSeconds(20), null);
  }

  /** Reads the caller's answer to its end. */
  private static String read(CompletionStream stream) throws InterruptedException {
    StringBuilder text = new StringBuilder();
    StreamEvent e;
    while ((e = stream.next()) instanceof StreamEvent.Delta d) {
      text.append(d.text());
    }
    assertThat(e).isInstanceOf(StreamEvent.Done.class);
    return text.toString();
  }

  private double count(String name, String... tags) {
    var c = meters.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void mirror_reachesTheShadowPinned_callerDoesNotWait_agreementRecorded() throws Exception {
    String answer = read(client.escalate(call("req-1")));

    assertThat(answer).isEqualTo("the quick brown fox");
    Held mirrored = held.poll(20, TimeUnit.SECONDS);
    assertThat(mirrored).as("the mirrored call reached the shadow").isNotNull();
    assertThat(mirrored.pin()).isEqualTo("v2");
    assertThat(mirrored.request()).isEqualTo(unpinned.take()); // the same request, only pinned
    // the caller already has its whole answer while the shadow has not answered at all
    assertThat(meters.find("infermesh.shadow.agreement.prefix").summary().count()).isZero();

    PinRoutingCore.answer(mirrored.out(), "the quick red fox");

    await().atMost(Duration.ofSeconds(20)).until(() ->
        meters.find("infermesh.shadow.agreement.prefix").summary().count() == 1);
    assertThat(meters.find("infermesh.shadow.agreement.prefix").summary().mean()).isEqualTo(0.5);
    assertThat(count("infermesh.shadow.agreement.exact", "match", "false")).isEqualTo(1);
    assertThat(count("infermesh.shadow.requests", "outcome", "answered")).isEqualTo(1);
  }

  @Test
  void mirror_whileTheOnlySlotIsBusy_isDroppedAndCounted_callerStillAnswered() throws Exception {
    read(client.escalate(call("req-1")));
    Held first = held.poll(20, TimeUnit.SECONDS);
    assertThat(first).isNotNull();

    assertThat(read(client.escalate(call("req-2")))).isEqualTo("the quick brown fox");

    assertThat(count("infermesh.shadow.requests", "outcome", "dropped")).isEqualTo(1);
    assertThat(count("infermesh.shadow.requests", "outcome", "mirrored")).isEqualTo(1);
    PinRoutingCore.answer(first.out(), "the quick brown fox");
    await().atMost(Duration.ofSeconds(20)).until(() ->
        count("infermesh.shadow.agreement.exact", "match", "true") == 1);
    assertThat(meters.find("infermesh.shadow.in_flight").gauge().value()).isZero();
    assertThat(held).as("the dropped request never reached the shadow").isEmpty();
  }
}
