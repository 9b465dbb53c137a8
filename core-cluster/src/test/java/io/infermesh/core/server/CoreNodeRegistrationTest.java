package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.certs.Role;
import io.infermesh.core.TestMesh;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Engine;
import io.infermesh.core.upstream.FakeOpenAiServer;
import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.node.testing.FakeConsulAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A real core node ({@code engine: upstream}, so no model has to load) with {@code consul.address}
 * set: it registers its chosen port, turns its check passing once it reports SERVING, publishes its
 * utilization as it is loaded, and deregisters when closed.
 */
class CoreNodeRegistrationTest {

  /** An upstream node {@code name} in eu-west, registered at 127.0.0.1, checked every minute. */
  private static CoreConfig config(TestMesh mesh, String name, FakeOpenAiServer upstream,
      CoreConfig.Scheduling scheduling, ConsulConfig consul) throws Exception {
    mesh.issue(Role.CORE, name);
    return CoreConfig.builder(new CoreConfig.Node(name, "eu-west"), new CoreConfig.Tls(mesh.root().resolve(name), name))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("big-model").version("v2").device("cpu").defaultMaxTokens(16).build())
        .engine(Engine.Upstream.builder(upstream.url()).model("up-model").timeout(Duration.ofSeconds(30))
            .health("/v1/models", Duration.ofMillis(100)).build())
        .scheduler(scheduling)
        .metricsPort(0) // registered as metrics_port: the control plane scrapes it for canaries
        .consul(consul.toBuilder().serviceAddress("127.0.0.1").checkInterval(Duration.ofMinutes(1)).build())
        .build();
  }

  @Test
  void loadedNode_registrationCarriesItsUtilization_andZeroOnceIdleAgain() throws Exception {
    try (TestMesh mesh = new TestMesh("core-consul-load");
        FakeConsulAgent consul = FakeConsulAgent.start();
        FakeOpenAiServer upstream = new FakeOpenAiServer()) {
      // 2 calls in flight upstream, 4 may wait; the instant figure (window 0), sampled every 100 ms
      CoreConfig config = config(mesh, "core-l1", upstream,
          CoreConfig.Scheduling.builder().maxQueued(4).maxBatchSize(2).maxBatchTokens(256).prefillChunk(64).build(),
          CoreConfig.CONSUL_DEFAULT.toBuilder().address(consul.address()).utilizationWindow(Duration.ZERO).build());

      CoreNode node = CoreNode.start(config);
      List<Context.CancellableContext> calls = new ArrayList<>();
      try {
        ManagedChannel edge = mesh.channel(Role.EDGE, "edge-l1", node.port());
        await().atMost(Duration.ofSeconds(10)).until(() -> "passing".equals(consul.checkStatus("service:core-l1")));
        assertThat(utilization(consul)).isEqualTo("0.00");

        var async = InferenceGrpc.newStub(edge);
        for (int i = 0; i < 3; i++) { // two stream from the upstream, the third waits in the gate
          Context.CancellableContext ctx = Context.current().withCancellation();
          calls.add(ctx);
          GenerateRequest r = GenerateRequest.newBuilder().setRequestId("load-" + i).setPrompt("slow")
              .setSampling(SamplingParams.newBuilder().setMaxTokens(100)).build();
          ctx.run(() -> async.generate(r, TestMesh.observer(c -> {}, new CompletableFuture<>())));
        }

        // in flight 2/2 + queued 1/2, pushed without waiting for the one-minute check interval
        await().atMost(Duration.ofSeconds(10)).until(() -> "1.50".equals(utilization(consul)));
        assertThat(Double.parseDouble(utilization(consul))).as("as discovery parses it").isEqualTo(1.5);

        calls.forEach(c -> c.cancel(null));
        await().atMost(Duration.ofSeconds(10)).until(() -> "0.00".equals(utilization(consul)));
        assertThat(consul.checkStatus("service:core-l1")).isEqualTo("passing");
      } finally {
        calls.forEach(c -> c.cancel(null));
        node.close();
      }
    }
  }

  private static String utilization(FakeConsulAgent consul) {
    JsonNode s = consul.service("core-l1");
    return s == null ? null : s.path("Meta").path("utilization").asText(null);
  }

  @Test
  void start_withConsul_registersTheRealPort_passesWhenServing_andDeregistersOnClose() throws Exception {
    try (TestMesh mesh = new TestMesh("core-consul");
        FakeConsulAgent consul = FakeConsulAgent.start();
        FakeOpenAiServer upstream = new FakeOpenAiServer()) {
      CoreConfig config = config(mesh, "core-c1", upstream, CoreConfig.Scheduling.defaults(),
          CoreConfig.CONSUL_DEFAULT.toBuilder().address(consul.address()).build());

      CoreNode node = CoreNode.start(config);
      try {
        ManagedChannel edge = mesh.channel(Role.EDGE, "edge-c1", node.port());
        await().atMost(Duration.ofSeconds(10))
            .until(() -> TestMesh.health(edge, InferenceGrpc.SERVICE_NAME) == ServingStatus.SERVING);
        // the readiness change is pushed at once, not at the next (one-minute) interval
        await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-c1")));

        JsonNode registered = consul.service("core-c1");
        assertThat(registered.path("Name").asText()).isEqualTo("core-inference");
        assertThat(registered.path("Address").asText()).isEqualTo("127.0.0.1");
        assertThat(registered.path("Port").asInt()).isEqualTo(node.port()).isPositive();
        assertThat(registered.path("Meta").path("region").asText()).isEqualTo("eu-west");
        assertThat(registered.path("Meta").path("model").asText()).isEqualTo("big-model");
        assertThat(registered.path("Meta").path("version").asText()).isEqualTo("v2");
        assertThat(registered.path("Meta").path("utilization").asText()).isEqualTo("0.00");
        assertThat(registered.path("Meta").path("metrics_port").asInt()).isEqualTo(node.metricsPort()).isPositive();
      } finally {
        node.close();
      }

      assertThat(consul.service("core-c1")).isNull();
      assertThat(consul.requests()).last().extracting(FakeConsulAgent.Request::path)
          .isEqualTo("/v1/agent/service/deregister/core-c1");
    }
  }
}
