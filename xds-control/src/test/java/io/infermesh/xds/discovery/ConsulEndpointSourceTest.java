package io.infermesh.xds.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.node.registration.ConsulConfig;
import io.infermesh.xds.snapshot.EndpointHealth;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.Tier;
import io.infermesh.xds.testing.FakeConsul;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link ConsulEndpointSource} against {@link FakeConsul} (no Consul binary can be installed here). */
class ConsulEndpointSourceTest {

  private FakeConsul consul;
  private ConsulEndpointSource source;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<List<MeshEndpoint>> deliveries = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startConsul() throws Exception {
    consul = FakeConsul.start();
    FakeConsul.Instance a = new FakeConsul.Instance("core-eu-1", "core-inference", "10.0.1.10", 9443);
    a.meta.putAll(Map.of("region", "eu-west", "zone", "a", "tier", "private", "model", "llama-3-8b",
        "version", "v2", "utilization", "0.42", "metrics_port", "9464"));
    consul.put(a);
    FakeConsul.Instance b = new FakeConsul.Instance("core-burst-1", "core-inference", "", 9443);
    b.tags.addAll(List.of("region=public-burst", "version=v1")); // tags only, node address
    consul.put(b);
    FakeConsul.Instance sick = new FakeConsul.Instance("core-eu-2", "core-inference", "10.0.1.11", 9443);
    sick.meta.put("region", "eu-west");
    sick.checkStatus = "critical";
    consul.put(sick);
  }

  @AfterEach
  void stop() {
    if (source != null) {
      source.close();
    }
    consul.close();
  }

  private ConsulConfig settings(Duration wait) {
    return ConsulConfig.controlPlane().address(consul.address()).blockingWait(wait).retryBackoff(Duration.ofMillis(100))
        .build();
  }

  private void startSource(Duration wait) {
    source = new ConsulEndpointSource(settings(wait), List.of("core-inference"),
        region -> region.equals("public-burst") ? Optional.of(Tier.PUBLIC) : Optional.empty(), meters, null);
    source.start(deliveries::add);
  }

  private List<MeshEndpoint> latest() {
    return deliveries.get(deliveries.size() - 1);
  }

  private double errors() {
    return meters.counter("infermesh.xds.discovery.errors", "source", "consul").count();
  }

  private double staleGauge() {
    return meters.get("infermesh.xds.discovery.stale").tag("source", "consul").gauge().value();
  }

  @Test
  void start_passingInstances_areMappedFromMetaAndTags() {
    startSource(Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    assertThat(latest()).extracting(MeshEndpoint::id).containsExactlyInAnyOrder("core-eu-1", "core-burst-1");
    MeshEndpoint a = latest().stream().filter(e -> e.id().equals("core-eu-1")).findFirst().orElseThrow();
    assertThat(a).isEqualTo(MeshEndpoint.builder("core-inference", "10.0.1.10", 9443, "eu-west").id("core-eu-1")
        .zone("a").tier(Tier.PRIVATE).model("llama-3-8b").version("v2").utilization(0.42).metricsPort(9464).build());
    MeshEndpoint b = latest().stream().filter(e -> e.id().equals("core-burst-1")).findFirst().orElseThrow();
    assertThat(b.host()).as("node address when the service has none").isEqualTo("10.1.10.12");
    assertThat(b.region()).isEqualTo("public-burst");
    assertThat(b.tier()).as("tier of the region from mesh.yaml").isEqualTo(Tier.PUBLIC);
    assertThat(b.version()).isEqualTo("v1");
    assertThat(b.health()).isEqualTo(EndpointHealth.HEALTHY);
    assertThat(consul.requests().get(0)).startsWith("GET /v1/health/service/core-inference?").contains("passing");
  }

  @Test
  void blockingQuery_sendsTheLastIndexAndDeliversAChangeAtOnce() {
    startSource(Duration.ofSeconds(30));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    long firstIndex = consul.index();
    // the source is now parked in a blocking query carrying that index
    await().atMost(Duration.ofSeconds(5)).until(() -> consul.requests().stream()
        .anyMatch(r -> r.contains("index=" + firstIndex) && r.contains("wait=30s")));

    long start = System.nanoTime();
    consul.setCheckStatus("core-eu-2", "passing");
    await().atMost(Duration.ofSeconds(1)).until(() -> latest().size() == 3);
    System.out.printf("consul change delivered in %d ms%n", (System.nanoTime() - start) / 1_000_000);
  }

  @Test
  void blockingQuery_timeoutWithoutChange_deliversNothingNew() throws Exception {
    startSource(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    int asked = consul.requests().size();
    // two more blocking queries (1 s each) time out unchanged
    await().atMost(Duration.ofSeconds(10)).until(() -> consul.requests().size() >= asked + 2);
    assertThat(deliveries).hasSize(1);
  }

  @Test
  void indexGoingBackwards_resetsTheIndexToZero() {
    startSource(Duration.ofSeconds(30));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    consul.resetIndex(3);
    await().atMost(Duration.ofSeconds(5)).until(() -> consul.requests().stream()
        .anyMatch(r -> r.contains("index=0") || (r.contains("passing") && !r.contains("index="))));
  }

  @Test
  void consulUnreachable_keepsTheLastGoodStateCountsAndRecovers() throws Exception {
    startSource(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    List<MeshEndpoint> lastGood = latest();

    consul.stop();
    await().atMost(Duration.ofSeconds(5)).until(() -> errors() >= 2);
    assertThat(source.stale()).isTrue();
    assertThat(staleGauge()).isEqualTo(1.0);
    assertThat(latest()).as("nothing (in particular no empty list) delivered while down").isEqualTo(lastGood);
    assertThat(deliveries).hasSize(1);

    consul.remove("core-burst-1");
    consul.restart();
    await().atMost(Duration.ofSeconds(10)).until(() -> latest().size() == 1);
    assertThat(source.stale()).isFalse();
    assertThat(staleGauge()).isZero();
  }

  @Test
  void consulAnswers500_keepsTheLastGoodState() {
    startSource(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    consul.failing(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> errors() >= 1);
    assertThat(deliveries).hasSize(1);
    consul.failing(false);
    consul.setCheckStatus("core-eu-2", "passing");
    await().atMost(Duration.ofSeconds(10)).until(() -> latest().size() == 3);
    assertThat(source.stale()).isFalse();
  }

  @Test
  void unmappableInstance_isSkippedNotFatal() {
    FakeConsul.Instance bad = new FakeConsul.Instance("bad-1", "core-inference", "10.9.9.9", 9443);
    bad.meta.put("region", "Not A Label!");
    consul.put(bad);
    startSource(Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(5)).until(() -> !deliveries.isEmpty());
    assertThat(latest()).extracting(MeshEndpoint::id).containsExactlyInAnyOrder("core-eu-1", "core-burst-1");
  }
}
