package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A tenant's token quota when the real core answers {@code n} choices in one call: admission
 * reserves the prompt and every choice's budget, and the request settles with every choice's
 * tokens, so {@code n > 1} cannot overdraw a quota (the whole mesh on loopback, tiny models).
 */
class ChoicesQuotaMeshTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String SPENDER = "sk-choices-spender-0001"; // each test its own tenant and quota
  private static final String LAVISH = "sk-choices-lavish-0001";
  private static final long QUOTA = 400;
  private static Path dir;
  private static MeshUp mesh;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("choices-quota");
    Path governance = Files.writeString(dir.resolve("edge.yaml"), """
        auth:
          tenants:
            - name: spender
              keys: [%s]
              tokens_per_day: %d
            - name: lavish
              keys: [%s]
              tokens_per_day: %d
        """.formatted(SPENDER, QUOTA, LAVISH, QUOTA));
    MeshUp.Options d = MeshUp.Options.defaults(dir);
    mesh = MeshUp.start(new MeshUp.Options(dir, 0, 0, d.edgeModel(), d.coreModel(), d.routing(),
        Duration.ofSeconds(30)).withEdgeConfig(governance));
  }

  @AfterAll
  static void stop() {
    if (mesh != null) {
      mesh.close();
    }
  }

  private static HttpResponse<String> threeChoices(String key, String content, int maxTokens) throws Exception {
    String body = JSON.createObjectNode().put("model", "core").put("n", 3).put("max_tokens", maxTokens)
        .put("temperature", 0.8).put("seed", 7)
        .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user")
            .put("content", content))).toString();
    return HTTP.send(HttpRequest.newBuilder(URI.create(mesh.edgeUrl() + "/v1/chat/completions"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void post_threeChoicesWhoseBudgetsTogetherExceedTheQuota_is400NamingMaxTokens() throws Exception {
    // one choice's budget fits the quota, three do not
    HttpResponse<String> r = threeChoices(LAVISH, "Tell me a story", 150);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(JSON.readTree(r.body()).at("/error/param").asText()).isEqualTo("max_tokens");
  }

  @Test
  void post_threeChoicesUntilTheQuotaIsSpent_everyChoiceIsChargedAndNothingOverdraws() throws Exception {
    long usedByAnswers = 0;
    HttpResponse<String> refused = null;
    for (int i = 0; i < 60 && refused == null; i++) {
      HttpResponse<String> r = threeChoices(SPENDER, "count to " + i, 6);
      if (r.statusCode() == 200) {
        JsonNode answer = JSON.readTree(r.body());
        assertThat(answer.get("choices")).hasSize(3);
        assertThat(r.headers().firstValue("x-infermesh-route")).hasValue("core");
        usedByAnswers += answer.at("/usage/total_tokens").asLong();
      } else {
        refused = r;
      }
    }

    assertThat(refused).as("the quota ran out within 60 requests").isNotNull();
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
    assertThat(JSON.readTree(refused.body()).at("/error/type").asText()).isEqualTo("tokens_per_day");
    // the answers' usage counts every choice's completion tokens: had choices 1 and 2 gone uncharged,
    // more requests would have been admitted and their usage would sum past the quota
    assertThat(usedByAnswers).isPositive().isLessThanOrEqualTo(QUOTA);
  }
}
