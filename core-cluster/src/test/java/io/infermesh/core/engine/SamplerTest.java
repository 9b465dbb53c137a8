package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final float[] LOGITS = {3f, 2f, 1f, 0f};

  private static SamplingParams greedy(Penalties penalties, int topLogprobs) {
    return new SamplingParams(0f, 0, 1f, 0L, penalties, topLogprobs);
  }

  @Test
  void sample_greedyWithoutAdjustments_picksTheLargestLogit() {
    assertThat(new Sampler(SamplingParams.GREEDY).sample(LOGITS)).isEqualTo(0);
  }

  @Test
  void sample_largeLogitBias_forcesThatToken() {
    Sampler sampler = new Sampler(greedy(new Penalties(0f, 0f, Map.of(3, 100f)), -1));

    assertThat(IntStream.range(0, 5).map(i -> sampler.sample(LOGITS))).containsOnly(3);
  }

  @Test
  void sample_negativeLogitBias_bansTheFavourite() {
    Sampler sampler = new Sampler(greedy(new Penalties(0f, 0f, Map.of(0, -100f)), -1));

    assertThat(sampler.sample(LOGITS)).isEqualTo(1);
  }

  @Test
  void sample_frequencyPenalty_movesOffARepeatedToken() {
    // logit 3 vs 2: after one use token 0 is at 3 - 1.5 = 1.5 < 2
    Sampler sampler = new Sampler(greedy(new Penalties(0f, 1.5f, Map.of()), -1));

    assertThat(sampler.sample(LOGITS)).isEqualTo(0);
    assertThat(sampler.sample(LOGITS)).isEqualTo(1);
  }

  @Test
  void sample_presencePenalty_countsATokenOnce() {
    // presence 2: token 0 → 1 after use, token 1 → 0 after use; then 2 (logit 1) ties 0 (1) and the lower id wins
    Sampler sampler = new Sampler(greedy(new Penalties(2f, 0f, Map.of()), -1));

    assertThat(IntStream.range(0, 4).map(i -> sampler.sample(LOGITS))).containsExactly(0, 1, 0, 0);
  }

  @Test
  void sample_negativePresencePenalty_keepsRepeating() {
    Sampler sampler = new Sampler(greedy(new Penalties(-2f, 0f, Map.of()), -1));

    assertThat(IntStream.range(0, 3).map(i -> sampler.sample(new float[] {2f, 3f, 2.5f})))
        .containsExactly(1, 1, 1);
  }

  @Test
  void sample_withLogprobs_reportsLogSoftmaxAndTheTopTokensInOrder() {
    Sampler sampler = new Sampler(greedy(Penalties.NONE, 3));

    int token = sampler.sample(LOGITS);

    TokenLogprobs lp = sampler.lastLogprobs();
    double z = Math.log(Math.exp(3) + Math.exp(2) + Math.exp(1) + Math.exp(0));
    assertThat(lp.token()).isEqualTo(token);
    assertThat(lp.logprob()).isCloseTo((float) (3 - z), within(1e-5f));
    assertThat(lp.topTokens()).containsExactly(0, 1, 2);
    assertThat(lp.topLogprobs()[2]).isCloseTo((float) (1 - z), within(1e-5f));
  }

  @Test
  void sample_withoutLogprobs_reportsNone() {
    Sampler sampler = new Sampler(SamplingParams.GREEDY);
    sampler.sample(LOGITS);

    assertThat(sampler.lastLogprobs()).isNull();
  }

  @Test
  void sample_sameSeed_drawsTheSameTokens() {
    float[] flat = new float[64];
    SamplingParams seeded = new SamplingParams(1f, 0, 1f, 42L);

    Sampler a = new Sampler(seeded);
    Sampler b = new Sampler(seeded);
    int[] fromA = IntStream.range(0, 32).map(i -> a.sample(flat)).toArray();
    int[] fromB = IntStream.range(0, 32).map(i -> b.sample(flat)).toArray();
    int[] other = IntStream.range(0, 32).map(i -> new Sampler(new SamplingParams(1f, 0, 1f, 7L)).sample(flat))
        .toArray();

    assertThat(fromA).containsExactly(fromB);
    assertThat(fromA).isNotEqualTo(other);
  }

  @Test
  void penalties_outOfRange_areRefused() {
    assertThatThrownBy(() -> new Penalties(2.5f, 0f, Map.of())).hasMessageContaining("presence");
    assertThatThrownBy(() -> new Penalties(0f, 0f, Map.of(1, 101f))).hasMessageContaining("[-100, 100]");
  }
}
