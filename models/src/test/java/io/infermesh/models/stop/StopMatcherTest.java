package io.infermesh.models.stop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

  /** Feeds {@code text} in pieces of {@code chunk} chars; returns what was released, plus the flush. */
  private static String run(List<String> stops, String text, int chunk) {
    StopMatcher m = StopMatcher.of(stops);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length() && !m.stopped(); i += chunk) {
      out.append(m.accept(text.substring(i, Math.min(text.length(), i + chunk))));
    }
    return out.append(m.flush()).toString();
  }

  /** What a stop-string cut means, computed the slow way: the first end, then the earliest start. */
  private static String reference(List<String> stops, String text) {
    for (int end = 1; end <= text.length(); end++) {
      int cut = -1;
      for (String s : stops) {
        if (!s.isEmpty() && end >= s.length() && text.startsWith(s, end - s.length())) {
          cut = cut < 0 ? end - s.length() : Math.min(cut, end - s.length());
        }
      }
      if (cut >= 0) {
        return text.substring(0, cut);
      }
    }
    return text;
  }

  @Test
  void accept_stopSplitAcrossDeltas_cutsBeforeItAndHoldsBackOnlyAPossiblePrefix() {
    StopMatcher m = StopMatcher.of(List.of("END"));

    assertThat(m.accept("hello E")).isEqualTo("hello ");
    assertThat(m.held()).isEqualTo(1);
    assertThat(m.accept("N")).isEmpty();
    assertThat(m.accept("D and more")).isEmpty();
    assertThat(m.stopped()).isTrue();
    assertThat(m.flush()).isEmpty();
  }

  @Test
  void accept_falseStart_releasesTheHeldText() {
    StopMatcher m = StopMatcher.of(List.of("END"));

    assertThat(m.accept("EN")).isEmpty();
    assertThat(m.accept("x")).isEqualTo("ENx");
    assertThat(m.stopped()).isFalse();
  }

  @Test
  void accept_overlappingStops_cutsAtTheFirstEndThenTheEarliestStart() {
    assertThat(run(List.of("abcd", "bc"), "xxabcd", 1)).isEqualTo("xxa");
    assertThat(run(List.of("abcd", "bc"), "xxabcd", 100)).isEqualTo("xxa");
    assertThat(run(List.of("aab", "ab"), "caab", 1)).isEqualTo("c");
    assertThat(run(List.of("eee"), "heeeee", 2)).isEqualTo("h");
  }

  @Test
  void flush_noStop_releasesEverythingHeld() {
    assertThat(run(List.of("zzz"), "buzz", 1)).isEqualTo("buzz");
    assertThat(run(List.of(), "anything", 3)).isEqualTo("anything");
  }

  @Test
  void accept_randomTextsAndChunkings_matchTheReferenceCut() {
    Random random = new Random(42);
    for (int trial = 0; trial < 2_000; trial++) {
      List<String> stops = new ArrayList<>();
      for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
        stops.add(randomText(random, 1 + random.nextInt(4)));
      }
      String text = randomText(random, random.nextInt(40));
      int chunk = 1 + random.nextInt(6);

      assertThat(run(stops, text, chunk)).as("stops %s, text %s, chunk %d", stops, text, chunk)
          .isEqualTo(reference(stops, text));
    }
  }

  @Test
  void accept_longSelfOverlappingStopsOverLongText_isLinear() {
    // four stop strings of the most a request may send, each a run of one letter the text repeats:
    // the naive check costs (stop length)² per token here; this must take milliseconds
    List<String> stops = List.of("e".repeat(StopStrings.MAX_BYTES), "ee".repeat(StopStrings.MAX_BYTES / 2 - 1) + "x",
        "e".repeat(StopStrings.MAX_BYTES - 1) + "y", "ab".repeat(StopStrings.MAX_BYTES / 2));
    String token = "e".repeat(7);

    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      for (int round = 0; round < 20; round++) {
        StopMatcher m = StopMatcher.of(stops);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 140 && !m.stopped(); i++) { // 980 'e's: never completes the 1024 run
          out.append(m.accept(token));
        }
        assertThat(m.stopped()).isFalse();
        assertThat(m.held()).isEqualTo(980);
        out.append(m.accept("z")).append(m.flush());
        assertThat(out).hasSize(981);
      }
      StopMatcher m = StopMatcher.of(stops);
      for (int i = 0; i < 200_000; i++) {
        m.accept(i % 100 == 99 ? "z" : token); // 1.4 M chars, held back and released over and over
      }
      assertThat(m.stopped()).isFalse();
    });
  }

  @Test
  void check_boundsCountBytesAndEmptiness() {
    assertThat(StopStrings.check(List.of("a", "b", "c", "d"))).isEmpty();
    assertThat(StopStrings.check(List.of("a", "b", "c", "d", "e")).orElseThrow().reason()).contains("at most 4");
    assertThat(StopStrings.check(List.of("ok", "")).orElseThrow().field("stop")).isEqualTo("stop[1]");
    assertThat(StopStrings.check(List.of("é".repeat(512)))).isEmpty();
    assertThat(StopStrings.check(List.of("é".repeat(513))).orElseThrow().reason())
        .isEqualTo("must be at most 1024 bytes of UTF-8, got 1026");
    assertThat(StopStrings.check(List.of("x\ud800")).orElseThrow().reason()).contains("unpaired surrogate");
  }

  private static String randomText(Random random, int length) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < length; i++) {
      b.append((char) ('a' + random.nextInt(3)));
    }
    return b.toString();
  }
}
