package io.infermesh.edge.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AnswerFilterTest {
  private static final String OWN = "alice@example.com";
  private static final String CARD = "4111 1111 1111 1111";
  private static final String KEY = "sk-abcdefghijklmnopqrstuvwx12";
  private static final String PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
      + "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4n5m6Q1W2E3R4T5Y6U7I8O9P0A1S2D3F4G5H6J7K8L9Z0X1C2V3B4\n"
      + "abc+/=\n-----END PRIVATE KEY-----";
  private static final Masker MASKER = Masker.of(PrivacyPolicy.builder("p")
      .builtIns(PrivacyAction.MASK)
      .action("CREDIT_CARD", PrivacyAction.BLOCK)
      .action("IP_ADDRESS", PrivacyAction.LOCAL_ONLY)
      .build());
  /** The answer to a request whose client wrote {@link #OWN}. */
  private static final AnswerFilter FILTER = AnswerFilter.of(MASKER, MASKER.mask(List.of("write to " + OWN + " please")));

  private static String streamed(AnswerFilter filter, List<String> deltas) {
    AnswerFilter.Stream s = filter.stream();
    StringBuilder out = new StringBuilder();
    for (String d : deltas) {
      out.append(s.accept(d));
    }
    return out.append(s.flush()).toString();
  }

  private static List<String> randomSplit(String text, Random random) {
    List<String> deltas = new ArrayList<>();
    int i = 0;
    while (i < text.length()) {
      int n = 1 + random.nextInt(random.nextBoolean() ? 4 : 40);
      deltas.add(text.substring(i, Math.min(text.length(), i + n)));
      i += n;
    }
    return deltas;
  }

  @Test
  void filter_foreignCardKeyAndEmail_redactedByKind() {
    String answer = "Card " + CARD + ", key " + KEY + ", mail eve@evil.example.";

    assertThat(FILTER.filter(answer)).isEqualTo("Card [CREDIT_CARD], key [API_KEY], mail [EMAIL].");
  }

  @Test
  void filter_clientsOwnEmail_keptWhileAForeignOneIsRedacted() {
    assertThat(FILTER.filter("Mail " + OWN + ", not bob@example.org")).isEqualTo("Mail " + OWN + ", not [EMAIL]");
  }

  @Test
  void filter_privateKey_redactedThroughItsEndLine() {
    assertThat(FILTER.filter("here:\n" + PEM + "\ndone")).isEqualTo("here:\n[PRIVATE_KEY]\ndone");
  }

  @Test
  void filter_localOnlyKind_passesAsItIs() {
    assertThat(FILTER.filter("ping 10.0.0.1 now")).isEqualTo("ping 10.0.0.1 now");
  }

  @Test
  void filter_noPlaceholdersInTheRequest_ownValueIsForeignToo() {
    AnswerFilter none = AnswerFilter.of(MASKER, MASKER.mask(List.of("hello")));

    assertThat(none.filter("Mail " + OWN)).isEqualTo("Mail [EMAIL]");
  }

  @Test
  void stream_randomSplits_giveTheWholeAnswersResult() {
    String filler = "Some prose that is long enough to push values past the window. ".repeat(3);
    String answer = "Start " + CARD + " " + filler + "mail " + OWN + " and eve@evil.example, " + filler
        + PEM + " then " + KEY + filler + "card at the end " + CARD;
    String whole = FILTER.filter(answer);
    Random random = new Random(20261207);

    for (int i = 0; i < 2000; i++) {
      List<String> deltas = randomSplit(answer, random);
      assertThat(streamed(FILTER, deltas)).as("split %s", deltas).isEqualTo(whole);
    }
    assertThat(whole).contains(OWN).contains("[EMAIL]").contains("[PRIVATE_KEY]").contains("[API_KEY]")
        .doesNotContain("4111").doesNotContain("eve@").doesNotContain("BEGIN").doesNotContain(KEY);
  }

  @Test
  void stream_prose_releasedWithABoundedHoldBack() {
    AnswerFilter.Stream s = FILTER.stream();
    StringBuilder out = new StringBuilder();
    String prose = "plain words and nothing more ".repeat(40);

    for (int i = 0; i < prose.length(); i++) {
      out.append(s.accept(prose.substring(i, i + 1)));
      assertThat(i + 1 - out.length()).isLessThanOrEqualTo(AnswerFilter.WINDOW + AnswerFilter.STEP);
    }
    assertThat(out.append(s.flush()).toString()).isEqualTo(prose);
  }

  @Test
  void stream_oneCharDeltas_scansALinearAmount() {
    String prose = "plain words, a@ 4111- and nothing more ".repeat(2000);
    String key = "-----BEGIN PRIVATE KEY-----\n" + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n".repeat(1800);
    for (String answer : List.of(prose, key + "-----END PRIVATE KEY----- after")) {
      AnswerFilter.Stream s = FILTER.stream();
      StringBuilder out = new StringBuilder();

      for (int i = 0; i < answer.length(); i++) {
        out.append(s.accept(answer.substring(i, i + 1)));
      }
      out.append(s.flush());

      assertThat(out.toString()).isEqualTo(FILTER.filter(answer));
      // a scan rereads at most the window and its context per STEP new chars, or what is held when it grew by half
      assertThat(s.scanned()).isLessThanOrEqualTo(12L * answer.length());
    }
  }

  @Test
  void stream_privateKeyArriving_heldFromItsBeginLine() {
    AnswerFilter.Stream s = FILTER.stream();
    String before = "x".repeat(300) + "\n";
    StringBuilder out = new StringBuilder(s.accept(before));
    String body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n".repeat(30);

    for (String d : randomSplit("-----BEGIN PRIVATE KEY-----\n" + body, new Random(7))) {
      out.append(s.accept(d));
    }

    assertThat(out.toString()).isEqualTo(before).doesNotContain("BEGIN");
    assertThat(out.append(s.accept("-----END PRIVATE KEY-----\nok")).append(s.flush()).toString())
        .isEqualTo(before + "[PRIVATE_KEY]\nok");
    assertThat(s.redacted()).isEqualTo(Map.of("PRIVATE_KEY", 1));
  }

  @Test
  void stream_redactions_countedPerKindNeverValues() {
    AnswerFilter.Stream s = FILTER.stream();

    s.accept("a " + CARD + " b bob@example.org c carol@example.net " + OWN);
    s.flush();

    assertThat(s.redacted()).isEqualTo(Map.of("CREDIT_CARD", 1, "EMAIL", 2));
  }

  @Test
  void json_valuesInAndOutsideStrings_redactedAndTheJsonStaysValid() throws Exception {
    AnswerFilter json = FILTER.json();
    String answer = "{\"card\":\"" + CARD + "\",\"n\":4111111111111111,\"to\":\"" + OWN + "\",\"cc\":\"eve@evil.example\","
        + "\"note\":\"say \\\"hi\\\" to bob@example.org\\n\"}";

    String filtered = json.filter(answer);

    JsonNode node = new ObjectMapper().readTree(filtered);
    assertThat(node.get("card").asText()).isEqualTo("[CREDIT_CARD]");
    assertThat(node.get("n").asText()).isEqualTo("[CREDIT_CARD]");
    assertThat(node.get("to").asText()).isEqualTo(OWN);
    assertThat(node.get("cc").asText()).isEqualTo("[EMAIL]");
    assertThat(node.get("note").asText()).isEqualTo("say \"hi\" to [EMAIL]\n");
    Random random = new Random(11);
    for (int i = 0; i < 500; i++) {
      assertThat(streamed(json, randomSplit(answer, random))).isEqualTo(filtered);
    }
  }

  @Test
  void json_clientsOwnKeyEscaped_keptAsItsOwn() {
    Masked request = MASKER.mask(List.of("my key:\n" + PEM));
    AnswerFilter json = AnswerFilter.of(MASKER, request).json();
    String escaped = PEM.replace("\n", "\\n");

    assertThat(json.filter("{\"key\":\"" + escaped + "\"}")).isEqualTo("{\"key\":\"" + escaped + "\"}");
    assertThat(json.filter("{\"key\":\"" + escaped.replace("abc", "xyz") + "\"}"))
        .isEqualTo("{\"key\":\"[PRIVATE_KEY]\"}");
  }
}
