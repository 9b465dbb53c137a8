package io.infermesh.edge.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MaskerTest {
  private static final PrivacyPolicy MASK_ALL = PrivacyPolicy.builder("mask-all").builtIns(PrivacyAction.MASK).build();

  @Test
  void mask_sameValueAcrossTexts_samePlaceholder() {
    Masked m = Masker.of(MASK_ALL).mask(List.of(
        "I am bob@example.com, call +1 415 555 0132.",
        "{\"to\":\"bob@example.com\",\"cc\":\"eve@example.org\"}"));

    assertThat(m.texts()).containsExactly("I am <EMAIL_1>, call <PHONE_1>.",
        "{\"to\":\"<EMAIL_1>\",\"cc\":\"<EMAIL_2>\"}");
    assertThat(m.placeholders()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "<EMAIL_1>", "bob@example.com", "<EMAIL_2>", "eve@example.org", "<PHONE_1>", "+1 415 555 0132"));
    assertThat(m.counts()).containsExactlyInAnyOrderEntriesOf(Map.of("EMAIL", 3, "PHONE", 1));
    assertThat(m.localOnly()).isFalse();
  }

  @Test
  void mask_nothingFound_textsUnchanged() {
    Masked m = Masker.of(MASK_ALL).mask(List.of("What is the capital of France?", ""));

    assertThat(m.texts()).containsExactly("What is the capital of France?", "");
    assertThat(m.placeholders()).isEmpty();
    assertThat(m.counts()).isEmpty();
    assertThat(m.restorer().isEmpty()).isTrue();
  }

  @Test
  void mask_overlappingKinds_earlierRuleWins() {
    // A card number is also a run of digits a phone detector would look at; CREDIT_CARD comes first.
    Masked m = Masker.of(MASK_ALL).mask(List.of("card 4111 1111 1111 1111 ok"));

    assertThat(m.texts()).containsExactly("card <CREDIT_CARD_1> ok");
    assertThat(m.counts()).containsExactlyEntriesOf(Map.of("CREDIT_CARD", 1));
  }

  @Test
  void mask_blockRule_throwsNamingKindNotValue() {
    PrivacyPolicy policy = PrivacyPolicy.builder("strict").builtIns(PrivacyAction.MASK)
        .action("CREDIT_CARD", PrivacyAction.BLOCK).build();

    assertThatThrownBy(() -> Masker.of(policy).mask(List.of("hi a@b.io", "pay 4111111111111111")))
        .isInstanceOfSatisfying(SensitiveDataBlockedException.class, e -> {
          assertThat(e.kind()).isEqualTo("CREDIT_CARD");
          assertThat(e.getMessage()).contains("CREDIT_CARD", "strict").doesNotContain("4111");
        });
  }

  @Test
  void mask_localOnlyRule_flagsAndLeavesText() {
    PrivacyPolicy policy = PrivacyPolicy.builder("cn").builtIns(PrivacyAction.MASK)
        .action("PRC_ID", PrivacyAction.LOCAL_ONLY).build();

    Masked m = Masker.of(policy).mask(List.of("ID 11010519491231002X, mail x@y.cn"));

    assertThat(m.texts()).containsExactly("ID 11010519491231002X, mail <EMAIL_1>");
    assertThat(m.localOnly()).isTrue();
    assertThat(m.localOnlyKinds()).containsExactly("PRC_ID");
    assertThat(m.counts()).containsEntry("PRC_ID", 1).containsEntry("EMAIL", 1);
  }

  @Test
  void mask_tenantWordsAndRegex_masked() {
    PrivacyPolicy policy = PrivacyPolicy.builder("acme")
        .detector(Detectors.words("CODENAME", List.of("Falcon")), PrivacyAction.MASK)
        .detector(Detectors.regex("TICKET", "TCK-\\d{6}"), PrivacyAction.MASK)
        .build();

    Masked m = Masker.of(policy).mask(List.of("Falcon slips; see TCK-000042 and falcon"));

    assertThat(m.texts()).containsExactly("<CODENAME_1> slips; see <TICKET_1> and <CODENAME_2>");
  }

  @Test
  void mask_tenantRegexOverBudget_failsClosed() {
    PrivacyPolicy policy = PrivacyPolicy.builder("evil")
        .detector(Detectors.regex("EVIL", "(.*a){12}"), PrivacyAction.MASK).build();

    assertThatThrownBy(() -> Masker.of(policy).mask(List.of("a".repeat(60) + "!")))
        .isInstanceOfSatisfying(SensitiveDataBlockedException.class, e -> assertThat(e.kind()).isEqualTo("EVIL"));
  }

  @Test
  void toString_countsOnly_noValues() {
    Masked m = Masker.of(MASK_ALL).mask(List.of("bob@example.com"));

    assertThat(m.toString()).contains("EMAIL=1").doesNotContain("bob");
  }

  @Test
  void restorer_maskedAnswer_originalsBack() {
    Masked m = Masker.of(MASK_ALL).mask(List.of("mail bob@example.com from 10.0.0.7"));

    assertThat(m.restorer().restore("Sent to <EMAIL_1> (host <IP_ADDRESS_1>), not <EMAIL_2>."))
        .isEqualTo("Sent to bob@example.com (host 10.0.0.7), not <EMAIL_2>.");
  }

  @Test
  void mask_toolCallArgumentsJson_staysValidJsonAndRestoresEscaped() throws Exception {
    String key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    String content = "use this key:\n" + key;
    String args = "{\"to\":\"bob@example.com\",\"note\":\"call +1 415 555 0132, key api_key=Zx8Qk2Lm9Vt4Rw7Yp3Nb\","
        + "\"pem\":\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIB\\\"\"}";
    ObjectMapper json = new ObjectMapper();

    Masked m = Masker.of(MASK_ALL).mask(List.of(content, args));

    assertThat(m.texts().get(0)).isEqualTo("use this key:\n<PRIVATE_KEY_1>");
    JsonNode masked = json.readTree(m.texts().get(1));
    assertThat(masked.get("to").asText()).isEqualTo("<EMAIL_1>");
    assertThat(masked.get("note").asText()).isEqualTo("call <PHONE_1>, key api_key=<API_KEY_1>");
    assertThat(masked.get("pem").asText()).isEqualTo("<PRIVATE_KEY_2>\"");
    // The model echoes the key into a tool call's arguments: restored escaped, still valid JSON.
    String answerArgs = "{\"key\":\"<PRIVATE_KEY_1>\"}";
    assertThat(json.readTree(m.restorer().jsonEscaped().restore(answerArgs)).get("key").asText()).isEqualTo(key);
  }

  @Test
  void builder_actionForMissingKind_refused() {
    assertThatThrownBy(() -> PrivacyPolicy.builder("p").action("EMAIL", PrivacyAction.BLOCK))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("add it first");
  }

  @Test
  void parse_configSpellings_actions() {
    assertThat(PrivacyAction.parse("local_only")).isEqualTo(PrivacyAction.LOCAL_ONLY);
    assertThatThrownBy(() -> PrivacyAction.parse("local-only")).hasMessageContaining("mask, block or local_only");
  }
}
