package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** API keys, per-tenant limits and per-tenant cache isolation over HTTP. */
class AuthAndLimitsHttpTest {
  private static final String ACME = "sk-acme-000000000001";
  private static final String GLOBEX = "sk-globex-0000000001";
  private static final String TINY = "sk-tiny-00000000001";
  private static EdgeAgent agent;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    EdgeConfig config = TinyModel.config().withAuth(new EdgeConfig.Auth(List.of(
        EdgeConfig.Tenant.builder("acme").keys(ACME).build(),
        EdgeConfig.Tenant.builder("globex").keys(GLOBEX).build(),
        EdgeConfig.Tenant.builder("tiny").keys(TINY).requestsPerMinute(2).build())));
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  private static final String GREEDY = "{\"messages\": [{\"role\": \"user\", \"content\": \"tenant test\"}], "
      + "\"max_tokens\": 4, \"temperature\": 0}";

  @Test
  void request_withoutKey_is401() {
    Reply r = http.post("/v1/chat/completions", GREEDY);

    assertThat(r.status()).isEqualTo(401);
    assertThat(r.header("www-authenticate")).isEqualTo("Bearer");
    assertThat(r.json().at("/error/message").asText()).contains("didn't provide an API key");
    assertThat(http.get("/v1/models").status()).isEqualTo(401);
  }

  @Test
  void request_withUnknownKey_is401InvalidApiKey() {
    Reply r = http.post("/v1/chat/completions", GREEDY, "Authorization", "Bearer sk-nobody-0000001");

    assertThat(r.status()).isEqualTo(401);
    assertThat(r.json().at("/error/code").asText()).isEqualTo("invalid_api_key");
  }

  @Test
  void request_withKey_isServed_andProbesNeedNoKey() {
    assertThat(http.post("/v1/chat/completions", GREEDY, "Authorization", "Bearer " + ACME).status()).isEqualTo(200);
    assertThat(http.get("/v1/models", "Authorization", "Bearer " + ACME).status()).isEqualTo(200);
    assertThat(http.get("/healthz").status()).isEqualTo(200);
    assertThat(http.get("/readyz").status()).isEqualTo(200);
    assertThat(http.get("/metrics").status()).isEqualTo(200);
  }

  @Test
  void cachedAnswer_isNeverServedToAnotherTenant() {
    String body = GREEDY.replace("tenant test", "isolation");
    Reply acmeFirst = http.post("/v1/chat/completions", body, "Authorization", "Bearer " + ACME);
    Reply globex = http.post("/v1/chat/completions", body, "Authorization", "Bearer " + GLOBEX);
    Reply acmeAgain = http.post("/v1/chat/completions", body, "Authorization", "Bearer " + ACME);

    assertThat(acmeFirst.header("x-infermesh-route")).isEqualTo("edge");
    assertThat(globex.header("x-infermesh-route")).isEqualTo("edge");
    assertThat(acmeAgain.header("x-infermesh-route")).isEqualTo("cache");
  }

  @Test
  void tenantOverItsRequestLimit_gets429WithRetryAfter() {
    String body = GREEDY.replace("\"temperature\": 0", "\"temperature\": 0.9");
    assertThat(http.post("/v1/chat/completions", body, "Authorization", "Bearer " + TINY).status()).isEqualTo(200);
    assertThat(http.post("/v1/chat/completions", body, "Authorization", "Bearer " + TINY).status()).isEqualTo(200);

    Reply r = http.post("/v1/chat/completions", body, "Authorization", "Bearer " + TINY);

    assertThat(r.status()).isEqualTo(429);
    assertThat(Integer.parseInt(r.header("retry-after"))).isBetween(1, 30);
    assertThat(r.json().at("/error/type").asText()).isEqualTo("requests");
    assertThat(r.json().at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(http.post("/v1/chat/completions", body, "Authorization", "Bearer " + ACME).status()).isEqualTo(200);
  }

  @Test
  void start_withoutKeys_bindsLoopbackOnly() throws Exception {
    EdgeConfig base = TinyModel.config();
    EdgeConfig open = base.withHttp(base.http().toBuilder().host("0.0.0.0").port(0).tls(Optional.empty())
        .allowPlaintext(true).build());
    try (EdgeAgent unauthenticated = EdgeAgent.builder(open).engine(TinyModel.engine()).start()) {
      assertThat(unauthenticated.httpHost()).isEqualTo("127.0.0.1");
    }
    assertThat(agent.httpHost()).isEqualTo("127.0.0.1"); // keys configured, http.host at its default: loopback
  }
}
