package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Token quotas per day over HTTP (tiny model, real requests): each request reserves prompt +
 * max_tokens at admission and settles its real usage at the end; a request the quota cannot hold is
 * 429 naming the quota, with Retry-After until the UTC day ends (the wall clock is fixed at 23:00).
 */
class TokenQuotaHttpTest {
  private static final String DAILY = "sk-daily-0000000001";
  private static final String OTHER = "sk-other-0000000001";
  private static final long QUOTA = 300;
  private static EdgeAgent agent;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    EdgeConfig config = TinyModel.config()
        .withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1)))
        .withAuth(new EdgeConfig.Auth(List.of(
            EdgeConfig.Tenant.builder("daily").keys(DAILY).tokensPerDay(QUOTA).build(),
            EdgeConfig.Tenant.builder("other").keys(OTHER).tokensPerMonth(1_000_000).build())));
    agent = EdgeAgent.builder(config).engine(TinyModel.engine())
        .clock(Clock.fixed(Instant.parse("2026-12-07T23:00:00Z"), ZoneOffset.UTC))
        .start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  private static String chat(String text, int maxTokens) {
    return "{\"messages\": [{\"role\": \"user\", \"content\": \"" + text + "\"}], \"max_tokens\": " + maxTokens
        + ", \"temperature\": 0}";
  }

  @Test
  void post_dailyQuotaSpent_is429NamingTheQuotaAndNothingOverdraws() {
    long usedByAnswers = 0;
    Reply refused = null;
    for (int i = 0; i < 40 && refused == null; i++) {
      Reply r = http.post("/v1/chat/completions", chat("count to " + i, 8), "Authorization", "Bearer " + DAILY);
      if (r.status() == 200) {
        usedByAnswers += r.json().at("/usage/total_tokens").asLong();
      } else {
        refused = r;
      }
    }

    assertThat(refused).as("the quota ran out within 40 requests").isNotNull();
    assertThat(refused.status()).isEqualTo(429);
    assertThat(refused.json().at("/error/type").asText()).isEqualTo("tokens_per_day"); // as OpenAI's "tokens"
    assertThat(refused.json().at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(refused.json().at("/error/message").asText()).contains("tokens_per_day quota of 300");
    assertThat(refused.header("retry-after")).isEqualTo("3600");
    assertThat(usedByAnswers).isPositive().isLessThanOrEqualTo(QUOTA);
    assertThat(http.post("/v1/chat/completions", chat("another tenant", 8), "Authorization", "Bearer " + OTHER)
        .status()).isEqualTo(200);
    assertThat(http.get("/metrics").raw().body()).contains("infermesh_edge_rejections_total{reason=\"quota\"}");
  }

  @Test
  void post_maxTokensAboveTheWholeQuota_is400NamingMaxTokens() {
    Reply r = http.post("/v1/chat/completions", chat("too long", 400), "Authorization", "Bearer " + DAILY);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/param").asText()).isEqualTo("max_tokens");
    assertThat(r.json().at("/error/message").asText()).contains("more than the tokens_per_day quota of 300");
  }
}
