package io.infermesh.node.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.certs.FakeClock;
import io.infermesh.certs.Role;
import io.infermesh.node.testing.FakeConsulAgent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link ConsulRegistration} against {@link FakeConsulAgent}, with a real executor and HTTP. */
class ConsulRegistrationTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What a core node registers, pinned as Consul's documented service definition; the discovery
   * tests ({@code CoreRegistrationShapeTest}) read what {@link ConsulRegistration} itself sends.
   */
  static final String EXPECTED_BODY = """
      {"ID": "core-us-7", "Name": "core-inference",
       "Tags": ["role=core", "region=us-east", "tier=public", "model=llama", "version=v3"],
       "Address": "10.0.3.7", "Port": 9443,
       "Meta": {"role": "core", "region": "us-east", "tier": "public", "model": "llama", "version": "v3",
                "utilization": "0.00"},
       "Check": {"CheckID": "service:core-us-7", "Name": "core node core-us-7 ready (grpc.health.v1 SERVING)",
                 "TTL": "15s", "Status": "critical", "DeregisterCriticalServiceAfter": "2m"}}
      """;

  private FakeConsulAgent consul;
  private ScheduledExecutorService executor;
  private final AtomicBoolean ready = new AtomicBoolean();

  @BeforeEach
  void start() throws Exception {
    consul = FakeConsulAgent.start();
    executor = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void stop() {
    executor.shutdownNow();
    consul.close();
  }

  /** Core node core-us-7 in us-east serving llama {@code version} on 9443, at the fake agent. */
  private RegistrationSettings config(String version, RegistrationSettings.Builder b) {
    return b.model("llama", version).build();
  }

  private RegistrationSettings.Builder consulAt(String token, String serviceAddress, String tier, Duration interval) {
    return RegistrationSettings.builder(consul.address(), "core-inference", "core-us-7", Role.CORE)
        .token(token)
        .endpoint(serviceAddress, 9443)
        .placement("us-east", tier)
        .readiness("grpc.health.v1 SERVING")
        .timing(interval, Duration.ofMinutes(2));
  }

  private List<FakeConsulAgent.Request> requests(String pathPrefix) {
    return consul.requests().stream().filter(r -> r.path().startsWith(pathPrefix)).toList();
  }

  @Test
  void start_registersNameAddressPortTagsMetaAndTtlCheck_withTheToken() throws Exception {
    RegistrationSettings config = config("v3", consulAt("s3cret", "10.0.3.7", "public", Duration.ofSeconds(5)));

    try (ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> consul.checkStatus("service:core-us-7") != null
          && !requests("/v1/agent/check/update/").isEmpty());

      assertThat(consul.service("core-us-7")).isEqualTo(JSON.readTree(EXPECTED_BODY));
      assertThat(consul.requests()).allSatisfy(q -> {
        assertThat(q.method()).isEqualTo("PUT");
        assertThat(q.token()).isEqualTo("s3cret");
      });
      assertThat(requests("/v1/agent/check/update/").get(0).path())
          .isEqualTo("/v1/agent/check/update/service:core-us-7");
      assertThat(consul.checkStatus("service:core-us-7")).isEqualTo("critical");
    }
  }

  @Test
  void registrationBody_noVersionNoAddressNoToken_leavesThemOut() {
    RegistrationSettings config = config("", consulAt("", "", "private", Duration.ofSeconds(10)).endpoint("", 40_000));

    JsonNode body = ConsulRegistration.registrationBody(config);

    assertThat(body.has("Address")).as("Consul then uses the agent's node address").isFalse();
    assertThat(body.path("Port").asInt()).isEqualTo(40_000);
    assertThat(body.path("Meta").has("version")).as("discovery then reads v1").isFalse();
    assertThat(body.path("Tags")).extracting(JsonNode::asText)
        .containsExactly("role=core", "region=us-east", "tier=private", "model=llama");
    assertThat(body.path("Check").path("TTL").asText()).isEqualTo("30s");
    assertThat(body.path("Check").path("DeregisterCriticalServiceAfter").asText()).isEqualTo("2m");
  }

  @Test
  void reportNow_readinessChanges_turnsTheCheckPassingThenCritical() {
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofMinutes(1)));

    try (ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> "critical".equals(consul.checkStatus("service:core-us-7")));

      ready.set(true);
      r.reportNow();
      await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-us-7")));

      ready.set(false);
      r.reportNow();
      await().atMost(Duration.ofSeconds(5)).until(() -> "critical".equals(consul.checkStatus("service:core-us-7")));
      assertThat(requests("/v1/agent/service/register")).as("registered once").hasSize(1);
    }
  }

  @Test
  void close_deregistersAndReportsNoMore() throws Exception {
    FakeClock time = new FakeClock();
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofSeconds(1)));
    ConsulRegistration r = ConsulRegistration.start(config, ready::get, time.scheduler());
    time.runDueTasks(); // the first tick registers and reports
    assertThat(consul.service("core-us-7")).isNotNull();
    assertThat(requests("/v1/agent/check/update/")).isNotEmpty();

    r.close();
    r.close();

    assertThat(consul.service("core-us-7")).isNull();
    assertThat(requests("/v1/agent/service/deregister/")).extracting(FakeConsulAgent.Request::path)
        .containsExactly("/v1/agent/service/deregister/core-us-7");
    int after = consul.requests().size();
    r.reportNow();
    long ranBefore = time.tasksRun();
    time.forward(Duration.ofSeconds(5)); // five check intervals: no tick may call the agent now
    assertThat(time.tasksRun() - ranBefore).as("only the reportNow task ran").isLessThanOrEqualTo(1);
    assertThat(time.pendingTasks()).as("the periodic tick is cancelled").isZero();
    assertThat(consul.requests()).hasSize(after);
  }

  @Test
  void start_consulFailing_retriesEachIntervalAndRegistersOnceItAnswers() {
    consul.failing(true);
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofSeconds(1)));

    try (ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> requests("/v1/agent/service/register").size() >= 2);
      assertThat(consul.service("core-us-7")).isNull();

      consul.failing(false);
      ready.set(true);
      await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-us-7")));
      assertThat(consul.service("core-us-7")).isNotNull();
    }
  }

  @Test
  void report_agentForgotTheService_registersAgain() {
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofMinutes(1)));
    ready.set(true);

    try (ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-us-7")));

      consul.forgetEverything();
      r.reportNow();

      await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-us-7")));
      assertThat(consul.service("core-us-7")).isNotNull();
      assertThat(requests("/v1/agent/service/register")).hasSize(2);
    }
  }

  @Test
  void utilization_loadedNode_reregistersWithTheNewValue_notForNoise_andZeroOnceIdle() throws Exception {
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofMinutes(1)));
    ready.set(true);

    try (ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:core-us-7")));
      assertThat(utilizationMeta()).isEqualTo("0.00");

      r.utilization(0.8712);
      await().atMost(Duration.ofSeconds(5)).until(() -> "0.87".equals(utilizationMeta()));
      assertThat(r.publishedUtilization()).isEqualTo(0.87);
      JsonNode body = consul.service("core-us-7");
      assertThat(body.path("Tags")).extracting(JsonNode::asText).as("meta only: tags name what the node is")
          .noneMatch(t -> t.startsWith("utilization="));
      assertThat(body.path("ID").asText()).as("the same id: an idempotent refresh").isEqualTo("core-us-7");

      r.utilization(0.90); // less than a step: not worth a catalog update, not even at the next report
      r.reportNow();
      int updates = requests("/v1/agent/check/update/").size();
      r.reportNow();
      await().atMost(Duration.ofSeconds(5)).until(() -> requests("/v1/agent/check/update/").size() > updates);
      assertThat(requests("/v1/agent/service/register")).hasSize(2);
      assertThat(utilizationMeta()).isEqualTo("0.87");

      r.utilization(1.4);
      await().atMost(Duration.ofSeconds(5)).until(() -> "1.40".equals(utilizationMeta()));
      r.utilization(0.001);
      await().atMost(Duration.ofSeconds(5)).until(() -> "0.00".equals(utilizationMeta()));
      assertThat(requests("/v1/agent/service/register")).hasSize(4);
      assertThat(consul.checkStatus("service:core-us-7")).as("a refresh keeps the check").isEqualTo("passing");
    }
  }

  @Test
  void utilization_givenBeforeTheAgentAnswers_isInTheFirstRegistration() {
    consul.failing(true);
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofSeconds(1)));

    try (ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor)) {
      r.utilization(1.25);
      await().atMost(Duration.ofSeconds(5)).until(() -> !requests("/v1/agent/service/register").isEmpty());
      consul.failing(false);
      r.reportNow();

      await().atMost(Duration.ofSeconds(5)).until(() -> "1.25".equals(utilizationMeta()));
      assertThatThrownBy(() -> r.utilization(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * Discovery ({@code ConsulEndpoints}) reads {@code key=value} tags, then the meta over them, and
   * takes {@code utilization} with {@code Double.parseDouble}: this replays that reading on what a
   * node sends, under a default locale that writes decimal commas ({@code CoreRegistrationShapeTest}
   * runs the real discovery over a real registration).
   */
  @Test
  void utilizationMeta_roundTripsThroughDiscoverysParsing() throws Exception {
    Locale before = Locale.getDefault();
    Locale.setDefault(Locale.GERMANY);
    try {
      for (double u : new double[] {0, 0.004, 0.005, 0.5, 0.8712, 1, 1.5, 1.999, 2.0}) {
        JsonNode body = ConsulRegistration.registrationBody(
            config("v3", consulAt("", "10.0.3.7", "private", Duration.ofSeconds(10)))).deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) body.get("Meta"))
            .put(ConsulRegistration.UTILIZATION, ConsulRegistration.format(u));

        Map<String, String> attributes = new HashMap<>();
        body.path("Tags").forEach(t -> {
          int eq = t.asText().indexOf('=');
          attributes.put(t.asText().substring(0, eq).trim(), t.asText().substring(eq + 1).trim());
        });
        body.path("Meta").fields().forEachRemaining(e -> attributes.put(e.getKey(), e.getValue().asText()));
        double read = Double.parseDouble(attributes.get("utilization"));

        assertThat(read).as("utilization %s", u).isCloseTo(u, org.assertj.core.api.Assertions.within(0.005))
            .isGreaterThanOrEqualTo(0).isLessThanOrEqualTo(2.0);
        assertThat(Double.isFinite(read)).isTrue();
      }
    } finally {
      Locale.setDefault(before);
    }
  }

  private String utilizationMeta() {
    JsonNode s = consul.service("core-us-7");
    return s == null ? null : s.path("Meta").path("utilization").asText(null);
  }

  @Test
  void close_consulDown_returnsPromptlyWithoutThrowing() {
    RegistrationSettings config = config("v3", consulAt("", "10.0.3.7", "private", Duration.ofMinutes(1)));
    ConsulRegistration r = ConsulRegistration.start(config, ready::get, executor);
    await().atMost(Duration.ofSeconds(5)).until(() -> consul.service("core-us-7") != null);
    consul.close();
    long started = System.nanoTime();

    r.close();

    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(ConsulRegistration.CALL_TIMEOUT);
    assertThat(consul.service("core-us-7")).as("the agent never heard the deregistration").isNotNull();
  }

  @Test
  void build_noConsulAddress_isRejected() {
    assertThatThrownBy(() -> RegistrationSettings.builder("", "core-inference", "core-us-7", Role.CORE)
        .endpoint("", 9443).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("consul address");
  }

  @Test
  void goDuration_wholeSecondsAndMillis_readAsConsulParsesThem() {
    assertThat(ConsulRegistration.goDuration(Duration.ofSeconds(30))).isEqualTo("30s");
    assertThat(ConsulRegistration.goDuration(Duration.ofMinutes(1))).isEqualTo("1m");
    assertThat(ConsulRegistration.goDuration(Duration.ofSeconds(90))).isEqualTo("90s");
    assertThat(ConsulRegistration.goDuration(Duration.ofMillis(1500))).isEqualTo("1500ms");
  }

  @Test
  void worthPublishing_noiseUnderAStep_no_aStepOrFallingToZero_yes() {
    assertThat(ConsulRegistration.worthPublishing(0.50, 0.53)).isFalse();
    assertThat(ConsulRegistration.worthPublishing(0.50, 0.47)).isFalse();
    assertThat(ConsulRegistration.worthPublishing(0.50, 0.55)).isTrue();
    assertThat(ConsulRegistration.worthPublishing(0.50, 0.45)).isTrue();
    assertThat(ConsulRegistration.worthPublishing(0.04, 0.00)).as("went idle").isTrue();
    assertThat(ConsulRegistration.worthPublishing(0.00, 0.04)).isFalse();
    assertThat(ConsulRegistration.worthPublishing(0.00, 0.00)).isFalse();
  }

  @Test
  void load_edgeNode_registersRoleEdgeExtraMetaAndTheLoadDetail() {
    RegistrationSettings edge = RegistrationSettings.builder(consul.address(), "edge-inference", "edge-l1", Role.EDGE)
        .endpoint("10.0.9.1", 9090)
        .placement("eu-west", "private")
        .model("tiny", "")
        .meta("http_port", "8080")
        .readiness("model loaded")
        .timing(Duration.ofMinutes(1), Duration.ofMinutes(1))
        .build();
    ready.set(true);

    try (ConsulRegistration r = ConsulRegistration.start(edge, ready::get, executor)) {
      await().atMost(Duration.ofSeconds(5)).until(() -> "passing".equals(consul.checkStatus("service:edge-l1")));
      r.load(0.5, Map.of("slots_in_use", "1", "queue_depth", "0"));
      await().atMost(Duration.ofSeconds(5))
          .until(() -> "0.50".equals(consul.service("edge-l1").path("Meta").path("utilization").asText()));

      JsonNode body = consul.service("edge-l1");
      assertThat(body.path("Tags")).extracting(JsonNode::asText)
          .containsExactly("role=edge", "region=eu-west", "tier=private", "model=tiny", "http_port=8080");
      assertThat(body.path("Meta").path("slots_in_use").asText()).isEqualTo("1");
      assertThat(body.path("Meta").path("queue_depth").asText()).isEqualTo("0");
      assertThat(body.path("Check").path("Name").asText()).isEqualTo("edge node edge-l1 ready (model loaded)");
      assertThatThrownBy(() -> r.load(0.5, Map.of("role", "core")))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'role'");
    }
  }

  @Test
  void build_badSettings_nameWhatIsWrong() {
    assertThatThrownBy(() -> RegistrationSettings.builder(consul.address(), "x", "gw-1", Role.GATEWAY)
        .endpoint("", 1).build()).hasMessageContaining("role must be edge or core");
    assertThatThrownBy(() -> RegistrationSettings.builder(consul.address(), "x", "e-1", Role.EDGE).build())
        .hasMessageContaining("port must be 1..65535");
    assertThatThrownBy(() -> RegistrationSettings.builder(consul.address(), "x", "e-1", Role.EDGE)
        .endpoint("", 1).meta("tier", "public").build()).hasMessageContaining("meta key 'tier'");
    assertThatThrownBy(() -> RegistrationSettings.builder(consul.address(), "x", "e-1", Role.EDGE)
        .endpoint("", 1).timing(Duration.ofSeconds(1), Duration.ofSeconds(30)).build())
        .hasMessageContaining("at least 1m");
  }

  @Test
  void deployExample_isWhatACoreNodeRegisters() throws Exception {
    RegistrationSettings core = RegistrationSettings.builder(consul.address(), "core-inference", "core-eu-west-1",
            Role.CORE)
        .endpoint("10.10.0.11", 9443)
        .placement("eu-west", "private")
        .model("llama-3-8b-instruct", "v1")
        .readiness("grpc.health.v1 SERVING")
        .timing(Duration.ofSeconds(5), Duration.ofMinutes(2))
        .build();
    Path example = Path.of(System.getProperty("infermesh.deploy.dir"),
        "consul", "core-inference-service.json");

    assertThat(ConsulRegistration.registrationBody(core)).isEqualTo(JSON.readTree(example.toFile()));
  }
}
