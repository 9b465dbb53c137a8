package io.infermesh.edge.shadow;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AnswerAgreementTest {

  @Test
  void of_sameText_isExactAndFullPrefix() {
    assertThat(AnswerAgreement.of("Paris is the capital.", "Paris is the capital."))
        .isEqualTo(new AnswerAgreement(true, 1.0));
  }

  @Test
  void of_divergingAfterTwoOfFourWords_isHalfPrefixNotExact() {
    assertThat(AnswerAgreement.of("the quick brown fox", "the quick red fox"))
        .isEqualTo(new AnswerAgreement(false, 0.5));
  }

  @Test
  void of_shorterShadow_isMeasuredAgainstTheLongerAnswer() {
    assertThat(AnswerAgreement.of("one two three four", "one two").prefix()).isEqualTo(0.5);
    assertThat(AnswerAgreement.of("one  two", "one two")).as("whitespace differs, words agree")
        .isEqualTo(new AnswerAgreement(false, 1.0));
  }

  @Test
  void of_emptyAnswers_agreeAndFirstWordDifferent_doesNot() {
    assertThat(AnswerAgreement.of("", " ")).isEqualTo(new AnswerAgreement(false, 1.0));
    assertThat(AnswerAgreement.of("yes", "no").prefix()).isZero();
  }
}
