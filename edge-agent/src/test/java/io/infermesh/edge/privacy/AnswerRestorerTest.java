package io.infermesh.edge.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AnswerRestorerTest {
  private static final AnswerRestorer RESTORER = AnswerRestorer.of(Map.of(
      "<EMAIL_1>", "bob@example.com", "<EMAIL_12>", "eve@example.org", "<PHONE_1>", "+1 415 555 0132"));

  private static String streamed(AnswerRestorer restorer, List<String> deltas) {
    AnswerRestorer.Stream s = restorer.stream();
    StringBuilder out = new StringBuilder();
    for (String d : deltas) {
      out.append(s.accept(d));
    }
    return out.append(s.flush()).toString();
  }

  @Test
  void restore_knownPlaceholders_replaced_unknownKept() {
    assertThat(RESTORER.restore("<EMAIL_1>, <EMAIL_12>, <EMAIL_2>, <PHONE_1>> <<EMAIL_1>"))
        .isEqualTo("bob@example.com, eve@example.org, <EMAIL_2>, +1 415 555 0132> <bob@example.com");
  }

  @Test
  void stream_placeholderSplitAcrossDeltas_restored() {
    AnswerRestorer.Stream s = RESTORER.stream();

    assertThat(s.accept("Mail <EM")).isEqualTo("Mail ");
    assertThat(s.held()).isEqualTo(3);
    assertThat(s.accept("AIL_1")).isEmpty();
    assertThat(s.accept("> now")).isEqualTo("bob@example.com now");
    assertThat(s.flush()).isEmpty();
  }

  @Test
  void stream_prefixThatCannotBePlaceholder_releasedAtOnce() {
    AnswerRestorer.Stream s = RESTORER.stream();

    assertThat(s.accept("a <EM")).isEqualTo("a ");
    assertThat(s.accept("X")).isEqualTo("<EMX");
    assertThat(s.accept("1 < 2")).isEqualTo("1 < 2");
    assertThat(s.held()).isZero();
  }

  @Test
  void stream_tailLongerThanAnyPlaceholder_released() {
    AnswerRestorer.Stream s = RESTORER.stream();

    assertThat(s.accept("x <EMAIL_1")).isEqualTo("x ");
    assertThat(s.accept("2345")).isEqualTo("<EMAIL_12345");
  }

  @Test
  void flush_answerEndsInsidePrefix_releasedAsIs() {
    AnswerRestorer.Stream s = RESTORER.stream();

    assertThat(s.accept("ends <PHONE_")).isEqualTo("ends ");
    assertThat(s.flush()).isEqualTo("<PHONE_");
  }

  @Test
  void stream_randomSplits_sameAsWholeRestoration() {
    Random random = new Random(20261207);
    String[] pieces = {"<EMAIL_1>", "<EMAIL_12>", "<PHONE_1>", "<EMAIL_2>", "<", ">", "<EM", "AIL_1>", "<<", "text ",
        "é", "\uD83D\uDE00", "<PHONE_", " <EMAIL_1", "_", "1"};
    for (int round = 0; round < 2000; round++) {
      StringBuilder answer = new StringBuilder();
      int parts = random.nextInt(30);
      for (int i = 0; i < parts; i++) {
        answer.append(pieces[random.nextInt(pieces.length)]);
      }
      String text = answer.toString();
      List<String> deltas = new ArrayList<>();
      int i = 0;
      while (i < text.length()) {
        int next = Math.min(text.length(), i + 1 + random.nextInt(6));
        deltas.add(text.substring(i, next));
        i = next;
      }
      assertThat(streamed(RESTORER, deltas)).as("answer %s split as %s", text, deltas)
          .isEqualTo(RESTORER.restore(text));
    }
  }

  @Test
  void stream_noPlaceholders_passThrough() {
    AnswerRestorer none = AnswerRestorer.of(Map.of());

    assertThat(none.stream().accept("<EM")).isEqualTo("<EM");
    assertThat(none.restore("<EMAIL_1>")).isEqualTo("<EMAIL_1>");
  }

  @Test
  void of_malformedPlaceholder_refused() {
    assertThatThrownBy(() -> AnswerRestorer.of(Map.of("<A>B>", "x"))).isInstanceOf(IllegalArgumentException.class);
  }
}
