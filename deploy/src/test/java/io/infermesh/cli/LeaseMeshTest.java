package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.GrantRequest;
import io.infermesh.api.v1.LeasesGrpc;
import io.infermesh.api.v1.SpendReceipt;
import io.infermesh.api.v1.SpendReport;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.ExpectedIdentity;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshChannels;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.config.Leases;
import io.infermesh.core.config.Tenants;
import io.infermesh.core.server.CoreNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Escalation;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leased token budgets across a real core and a real edge (tiny models, mTLS gRPC on loopback):
 * the edge gets a lease while it reaches the core; its uplink is cut (a TCP relay between them
 * refuses connections); it serves the core's requests locally from the lease, restarts mid-way on
 * the same wallet, and refuses with 429 exactly when the lease cannot cover the next request; the
 * link comes back and the edge reports (counted once, a replay too) and renews.
 */
class LeaseMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String ACME = "sk-lease-acme-0001";
  private static final String PROBE = "sk-lease-probe-0001"; // a tenant without a lease: how the test sees the edge degrade
  private static final long LEASE = 300;
  private static final int MAX_TOKENS = 8;

  @TempDir
  Path dir;
  private CoreNode core;
  private TcpRelay relay;
  private EdgeAgent edge;

  @AfterEach
  void stop() {
    if (edge != null) {
      edge.close();
    }
    if (relay != null) {
      relay.close();
    }
    if (core != null) {
      core.close();
    }
  }

  private Path certs() {
    return dir.resolve("certs");
  }

  private void startCore(Path models) throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("lease.test", Duration.ofDays(2), Clock.systemUTC());
    for (Object[] leaf : new Object[][] {{Role.CORE, "core-0"}, {Role.EDGE, "edge-0"}, {Role.EDGE, "edge-1"},
        {Role.GATEWAY, "gateway-0"}}) {
      ca.issue(LeafRequest.builder((Role) leaf[0], "local", (String) leaf[1]).dnsName("localhost")
          .ipAddress("127.0.0.1").validity(Duration.ofDays(1)).build()).writeTo(certs(), true);
    }
    core = CoreNode.start(CoreConfig.builder(new CoreConfig.Node("core-0", "local"),
            new CoreConfig.Tls(certs(), "core-0"))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("tiny-core").path(TinyModels.write(TinyModelSpec.core(GgmlType.F32), models))
            .device("cpu").defaultMaxTokens(64).build())
        .metricsPort(-1)
        .listen(CoreConfig.Listen.loopback())
        .tenants(Tenants.builder().enforce(true).tenant("acme", new Tenants.Limits(0, 0, 100_000, 0)).build())
        .leases(Leases.builder().enabled(true).maxTokensPerGrant(LEASE).validity(Duration.ofHours(1)).build())
        .build());
    core.loadConfiguredModel();
  }

  private EdgeConfig edgeConfig(Path models, Path wallet) throws Exception {
    Escalation d = Escalation.NONE;
    Escalation escalation = Escalation.builder().target("127.0.0.1:" + relay.port()).tls(certs(), "edge-0")
        .timeout(Duration.ofSeconds(30)).circuit(d.failureRate(), d.window(), Duration.ofMinutes(10)).build();
    return EdgeConfig.defaults()
        .withModel(EdgeConfig.Model.builder().path(TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), models))
            .contextSize(512).threads(1).parallel(1).defaultMaxTokens(64).build())
        .withHttpHost("127.0.0.1")
        .withHttpPort(0)
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withEscalation(escalation)
        .toBuilder()
        .auth(new EdgeConfig.Auth(List.of(new EdgeConfig.Tenant("acme", List.of(ACME), 0, 0),
            new EdgeConfig.Tenant("probe", List.of(PROBE), 0, 0))))
        .leases(io.infermesh.edge.config.Leases.NONE.on(wallet).forTenants(List.of("acme"))
            .grants(LEASE, 100).syncEvery(Duration.ofMillis(200)))
        .build();
  }

  private EdgeAgent startEdge(EdgeConfig config) throws Exception {
    EdgeAgent started = EdgeAgent.builder(config).start();
    started.awaitModel(Duration.ofMinutes(2));
    return started;
  }

  private HttpResponse<String> chat(String key, String content) throws Exception {
    String body = JSON.createObjectNode().put("model", "core").put("max_tokens", MAX_TOKENS).put("temperature", 0)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", content))).toString();
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + edge.httpPort() + "/v1/chat/completions"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Waits until the edge plans the core's requests as degraded: a tenant without a lease gets 429 lease. */
  private void awaitDegraded() {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      HttpResponse<String> r = chat(PROBE, "are you there?");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
      assertThat(JSON.readTree(r.body()).at("/error/type").asText()).isEqualTo("lease");
    });
  }

  private static JsonNode leaseOf(Path wallet, String tenant) throws Exception {
    for (JsonNode l : JSON.readTree(Files.readAllBytes(wallet)).path("leases")) {
      if (l.path("tenant").asText().equals(tenant)) {
        return l;
      }
    }
    return null;
  }

  @Test
  void edge_cutOffFromTheCore_servesExactlyItsLeaseAcrossARestartThenReconcilesOnce() throws Exception {
    Path models = dir.resolve("models");
    Path wallet = dir.resolve("data/leases.json");
    startCore(models);
    relay = TcpRelay.start(new InetSocketAddress("127.0.0.1", core.port()));
    EdgeConfig config = edgeConfig(models, wallet);
    edge = startEdge(config);
    await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(wallet) && leaseOf(wallet, "acme") != null);
    String leaseId = leaseOf(wallet, "acme").path("id").asText();
    assertThat(leaseOf(wallet, "acme").path("tokens").asLong()).isEqualTo(LEASE);

    relay.cut();
    awaitDegraded();
    long served = 0;
    long longestPrompt = 0;
    int answers = 0;
    HttpResponse<String> refused = null;
    boolean restarted = false;
    for (int i = 0; i < 200 && refused == null; i++) {
      if (answers == 4 && !restarted) { // mid-way: a new edge on the same wallet
        restarted = true;
        edge.close();
        edge = startEdge(config);
        awaitDegraded();
        assertThat(leaseOf(wallet, "acme").path("spent").asLong()).isEqualTo(served);
      }
      HttpResponse<String> r = chat(ACME, "count to " + i);
      if (r.statusCode() == 200) {
        assertThat(r.headers().firstValue("x-infermesh-route")).hasValue("edge-degraded");
        // planned degraded (core-unreachable, circuit-open) spends the lease; an escalation that failed
        // before its first token (core-failed: the channel was reconnecting) falls back unleased
        if (!r.headers().firstValue("x-infermesh-reason").orElse("").equals("core-failed")) {
          JsonNode usage = JSON.readTree(r.body()).path("usage");
          served += usage.path("total_tokens").asLong();
          longestPrompt = Math.max(longestPrompt, usage.path("prompt_tokens").asLong());
          answers++;
        }
      } else {
        refused = r;
      }
    }

    assertThat(refused).as("the lease ran out within 200 requests").isNotNull();
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
    JsonNode error = JSON.readTree(refused.body()).path("error");
    assertThat(error.path("type").asText()).isEqualTo("lease");
    assertThat(error.path("message").asText()).contains("tenant 'acme'");
    assertThat(answers).isGreaterThan(4);
    JsonNode spentLease = leaseOf(wallet, "acme");
    assertThat(spentLease.path("spent").asLong()).isEqualTo(served).isLessThanOrEqualTo(LEASE);
    assertThat(spentLease.path("reserved").asLong()).isZero();
    // stopped exactly there: what is left cannot hold one more request's worst case (a prompt + max_tokens)
    assertThat(LEASE - served).isLessThan(longestPrompt + 1 + MAX_TOKENS);

    relay.restore();
    long charged = served;
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      JsonNode leases = JSON.readTree(Files.readAllBytes(wallet)).path("leases");
      JsonNode old = null;
      JsonNode renewed = null;
      for (JsonNode l : leases) {
        if (l.path("id").asText().equals(leaseId)) {
          old = l;
        } else {
          renewed = l;
        }
      }
      assertThat(old).as("the spent lease is still held, its spend confirmed").isNotNull();
      assertThat(old.path("acknowledged").asLong()).isEqualTo(charged);
      assertThat(renewed).as("a new lease").isNotNull();
      assertThat(renewed.path("tokens").asLong()).isEqualTo(LEASE);
    });

    // the edge's last report, replayed by the edge's identity over mTLS: counted once
    long sequence = -1;
    for (JsonNode l : JSON.readTree(Files.readAllBytes(wallet)).path("leases")) {
      if (l.path("id").asText().equals(leaseId)) {
        sequence = l.path("sequence").asLong();
      }
    }
    assertThat(sequence).isPositive();
    long lastSequence = sequence;
    try (MeshTls tls = MeshTls.builder(MeshCredentialFiles.in(certs(), "edge-0")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + core.port(), tls,
          ExpectedIdentity.roles(Role.CORE));
      try {
        LeasesGrpc.LeasesBlockingStub stub = LeasesGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        SpendReceipt replay = stub.report(SpendReport.newBuilder().setLeaseId(leaseId).setSequence(sequence)
            .setTokensSpent(served).build());
        assertThat(replay.getReplay()).isTrue();
        assertThat(replay.getTokensCharged()).isEqualTo(served);
        SpendReceipt again = stub.report(SpendReport.newBuilder().setLeaseId(leaseId).setSequence(sequence + 1)
            .setTokensSpent(served).build());
        assertThat(again.getReplay()).isFalse();
        assertThat(again.getTokensCharged()).isEqualTo(served); // nothing new spent: nothing charged twice
      } finally {
        channel.shutdownNow();
      }
    }
    try (MeshTls other = MeshTls.builder(MeshCredentialFiles.in(certs(), "edge-1")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + core.port(), other,
          ExpectedIdentity.roles(Role.CORE));
      try {
        assertThatThrownBy(() -> LeasesGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .report(SpendReport.newBuilder().setLeaseId(leaseId).setSequence(lastSequence + 5).setTokensSpent(LEASE)
                .build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                .isEqualTo(Status.Code.PERMISSION_DENIED));
      } finally {
        channel.shutdownNow();
      }
    }
    // Leases are for edge devices only: a gateway of the same mesh gets nothing
    try (MeshTls gateway = MeshTls.builder(MeshCredentialFiles.in(certs(), "gateway-0")).build()) {
      ManagedChannel channel = MeshChannels.newChannel("127.0.0.1:" + core.port(), gateway,
          ExpectedIdentity.roles(Role.CORE));
      try {
        assertThatThrownBy(() -> LeasesGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .grant(GrantRequest.newBuilder().setTenant("acme").setTokens(10).build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                .isEqualTo(Status.Code.PERMISSION_DENIED));
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
