package io.infermesh.edge.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Linear time, asserted by work done rather than by wall time (which a shared CI machine makes
 * noisy): every built-in detector reads each char of a 100 KB adversarial text a bounded number of
 * times, whatever the text. The bound, 320 reads per char, is the longest bounded candidate (a 256
 * char API key, a 25 char phone number re-checked at each of its ends) with room; quadratic behaviour
 * on these texts would be ~100 000 reads per char.
 */
class DetectorWorkTest {
  private static final int SIZE = 100_000;
  private static final long READS_PER_CHAR = 320;

  /** A text read through a counter; subSequence counts the chars it copies. */
  static final class Counting implements CharSequence {
    private final String text;
    long reads;

    Counting(String text) {
      this.text = text;
    }

    @Override
    public int length() {
      return text.length();
    }

    @Override
    public char charAt(int index) {
      reads++;
      return text.charAt(index);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      reads += end - start;
      return text.subSequence(start, end);
    }

    @Override
    public String toString() {
      reads += text.length();
      return text;
    }
  }

  private static String repeat(String unit) {
    StringBuilder b = new StringBuilder(SIZE + unit.length());
    while (b.length() < SIZE) {
      b.append(unit);
    }
    return b.toString();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "a@", "a.", "a@a.", "1", "1 ", "1-", "1.", "1:", "::", "a:", "4111 ", "4111-1111-",
      "DE89 ", "AB12", "-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA ", "api_key=", "token: a", "sk-", "sk-a",
      "AKIA", "ghp_", "+1 ", "(1) ", "1101051949", "536-22-", "x@y.z ", "0.0.0.", "ff:", "A", "\n", "<EMAIL_"})
  void detect_adversarialText_boundedReadsPerChar(String unit) {
    String text = repeat(unit);
    for (Detector detector : Detectors.builtIns()) {
      Counting counting = new Counting(text);
      List<Detector.Match> out = new ArrayList<>();
      detector.detect(counting, out);
      assertThat(counting.reads).as("%s on '%s' x %d", detector.kind(), unit, SIZE / unit.length())
          .isLessThanOrEqualTo(READS_PER_CHAR * text.length());
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void detect_randomPunctuationAndDigits_boundedReadsPerChar(long seed) {
    Random random = new Random(seed);
    String alphabet = "0123456789 .-:@+()_=aAkKsS\n/";
    StringBuilder b = new StringBuilder(SIZE);
    for (int i = 0; i < SIZE; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    for (Detector detector : Detectors.builtIns()) {
      Counting counting = new Counting(b.toString());
      detector.detect(counting, new ArrayList<>());
      assertThat(counting.reads).as(detector.kind()).isLessThanOrEqualTo(READS_PER_CHAR * SIZE);
    }
  }
}
