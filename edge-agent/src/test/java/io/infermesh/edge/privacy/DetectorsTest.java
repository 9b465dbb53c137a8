package io.infermesh.edge.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DetectorsTest {

  /** The values {@code detector} finds in {@code text}, in text order. */
  static List<String> found(Detector detector, String text) {
    List<Detector.Match> out = new ArrayList<>();
    detector.detect(text, out);
    out.sort((a, b) -> Integer.compare(a.start(), b.start()));
    return out.stream().map(m -> text.substring(m.start(), m.end())).toList();
  }

  @ParameterizedTest
  @ValueSource(strings = {"alice.smith+tag@example.co.uk", "a@b.io", "first_last-99@mail.sub.example.com"})
  void email_addresses_found(String value) {
    assertThat(found(Detectors.email(), "write to " + value + ", please")).containsExactly(value);
  }

  @Test
  void email_sentenceEndAndBrackets_excluded() {
    assertThat(found(Detectors.email(), "Mail a@b.com. Or <c@d.org>.")).containsExactly("a@b.com", "c@d.org");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a@b", "@example.com", "user@localhost", "x@y.c", "name@example.c0m"})
  void email_notAddresses_notFound(String text) {
    assertThat(found(Detectors.email(), text)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"+1 415 555 0132", "+442079460958", "+44 (20) 7946-0958", "(415) 555-0132",
      "415-555-0132", "415.555.0132", "020 7946 0958", "030 1234 5678", "01 23 45 67 89", "13812345678",
      "+86 138 1234 5678"})
  void phone_e164AndNationalFormats_found(String value) {
    assertThat(found(Detectors.phone(), "call " + value + " today")).containsExactly(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"2024-01-15", "4155550132", "192.168.1.1", "12345",
      "415-155-0132", "123-45-6789", "4111 1111 1111 1111", "10.100.200.123", "v2.415.555.0132",
      "415-555-0132abc"})
  void phone_otherNumbers_notFound(String text) {
    assertThat(found(Detectors.phone(), text)).isEmpty();
  }

  @Test
  void phone_twoNumbersInARow_bothFound() {
    assertThat(found(Detectors.phone(), "415-555-0132 415-555-0199"))
        .containsExactly("415-555-0132", "415-555-0199");
  }

  @ParameterizedTest
  @ValueSource(strings = {"4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "378282246310005",
      "3782 822463 10005", "5555555555554444", "6011111111111117", "2223003122003222"})
  void paymentCard_luhnValid_found(String value) {
    assertThat(found(Detectors.paymentCard(), "card " + value + " exp 12/29")).containsExactly(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"4111 1111 1111 1112", "4111111111111112", "1111111111111111", "4111 1111-1111 1111",
      "41111111111111111111111", "x4111111111111111"})
  void paymentCard_luhnFailingOrMalformed_notFound(String text) {
    assertThat(found(Detectors.paymentCard(), text)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82WEST12345698765432",
      "FR1420041010050500013M02606"})
  void iban_mod97Valid_found(String value) {
    assertThat(found(Detectors.iban(), "pay to " + value + " AB today")).containsExactly(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"DE89 3704 0044 0532 0130 01", "XX89370400440532013000", "DE8937040044053201300",
      "DE893704004405320130001"})
  void iban_checksumOrLengthWrong_notFound(String text) {
    assertThat(found(Detectors.iban(), text)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"192.168.1.1", "10.0.0.255", "0.0.0.0", "2001:db8::1", "fe80::1ff:fe23:4567:890a",
      "::ffff:192.0.2.128", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::1", "fe80::"})
  void ipAddress_v4AndV6_found(String value) {
    assertThat(found(Detectors.ipAddress(), "host " + value + ". ok")).containsExactly(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"256.1.1.1", "1.2.3", "12:30:45", "1.2.3.4.5", "01.2.3.4", "2001:db8:::1",
      "1:2:3:4:5:6:7:8:9", "12345::1", "::", "a:b"})
  void ipAddress_malformed_notFound(String text) {
    assertThat(found(Detectors.ipAddress(), text)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"11010519491231002X", "110101199003074477"})
  void prcResidentId_checkDigitValid_found(String value) {
    assertThat(found(Detectors.prcResidentId(), "ID " + value + ".")).containsExactly(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"110105194912310021", "110101199003074476", "110101199013074477", "1101011990030744770"})
  void prcResidentId_checkDigitOrDateWrong_notFound(String text) {
    assertThat(found(Detectors.prcResidentId(), text)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"536-22-1234", "536 22 1234", "078-05-1121"})
  void usSsn_issuableRanges_found(String value) {
    assertThat(found(Detectors.usSsn(), "SSN " + value + ".")).containsExactly(value);
  }

  @ParameterizedTest
  @ValueSource(strings = {"000-12-3456", "666-12-3456", "912-34-5678", "536-00-1234", "536-22-0000",
      "123-45-6789", "078-05-1120", "555-55-5555", "536-22 1234", "536221234"})
  void usSsn_neverIssuedOrMixedSeparators_notFound(String text) {
    assertThat(found(Detectors.usSsn(), text)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"sk-proj-abcDEF1234567890ghijKLMN", "sk-abcdefghijklmnopqrstuvwxyz012345",
      "AKIAIOSFODNN7EXAMPLE", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
      "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "xoxb-123456789012-abcdefghij",
      "AIzaSyA1234567890abcdefghijklmnopqrstuv"})
  void apiKey_vendorFormats_found(String value) {
    assertThat(found(Detectors.apiKey(), "key: " + value + " end")).containsExactly(value);
  }

  @Test
  void apiKey_afterAssignment_valueOnly() {
    assertThat(found(Detectors.apiKey(), "config api_key=Zx8Qk2Lm9Vt4Rw7Yp3Nb and \"token\": \"A9f3kQ8zLm2Xv7Rt\""))
        .containsExactly("Zx8Qk2Lm9Vt4Rw7Yp3Nb", "A9f3kQ8zLm2Xv7Rt");
  }

  @ParameterizedTest
  @ValueSource(strings = {"api_key=aaaaaaaaaaaaaaaaaaaa", "password=hunter2", "token=abcdabcdabcdabcd",
      "sk-short", "AKIAIOSFODNN7EXAMPL", "task-abcdefghijklmnopqrstuvwxyz"})
  void apiKey_lowEntropyOrShort_notFound(String text) {
    assertThat(found(Detectors.apiKey(), text)).isEmpty();
  }

  @Test
  void privateKey_pemBlock_foundWhole() {
    String key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1x\nabc+/=\n-----END RSA PRIVATE KEY-----";
    assertThat(found(Detectors.privateKey(), "here:\n" + key + "\nthanks")).containsExactly(key);
  }

  @Test
  void privateKey_jsonEscapedAndTruncated_found() {
    String escaped = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----";
    assertThat(found(Detectors.privateKey(), "{\"k\":\"" + escaped + "\"}")).containsExactly(escaped);
    assertThat(found(Detectors.privateKey(), "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI")).containsExactly(
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI");
    assertThat(found(Detectors.privateKey(), "-----BEGIN PUBLIC KEY-----\nMIIB")).isEmpty();
  }

  @Test
  void words_wholeWordsAndPhrases_caseInsensitive() {
    Detector d = Detectors.words("CODENAME", List.of("Falcon", "Blue Harbor"));
    assertThat(found(d, "Project FALCON meets blue  harbor; falconry and Blue Harbors are fine"))
        .containsExactly("FALCON", "blue  harbor");
  }

  @Test
  void regex_tenantPattern_found() {
    assertThat(found(Detectors.regex("TICKET", "TCK-\\d{6}"), "see TCK-123456 and TCK-12")).containsExactly(
        "TCK-123456");
  }

  @Test
  void regex_catastrophicBacktracking_throwsBudgetExceeded() {
    Detector d = Detectors.regex("EVIL", "(.*a){12}");
    String text = "a".repeat(60) + "!";
    assertThatThrownBy(() -> found(d, text)).isInstanceOf(DetectorBudgetExceededException.class)
        .hasMessageContaining("EVIL");
  }

  @Test
  void regex_badKind_refused() {
    assertThatThrownBy(() -> Detectors.regex("lower", "x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("upper case");
  }
}
