package io.infermesh.edge.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.FakeTicker;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ResponseCacheTest {
  private static final SamplingParams GREEDY = new SamplingParams(16, 0f, 1f, 0, OptionalLong.empty(), List.of());
  private static final CachedCompletion ANSWER = CachedCompletion.of(List.of("Hel", "lo", "!"), FinishReason.STOP, 9, 3);

  private final FakeTicker ticker = new FakeTicker();
  private final ResponseCache cache = ResponseCache.create(1 << 20, Duration.ofMinutes(10), ticker);

  private static CacheKey key(String tenant, String content) {
    return CacheKey.chat(tenant, "m@1", List.of(ChatMessage.of(Role.USER, content)), GREEDY, false);
  }

  @Test
  void get_afterPut_returnsTheAnswerInItsChunks() {
    cache.put(key("a", "hi"), ANSWER);

    assertThat(cache.get(key("a", "hi"))).hasValueSatisfying(hit -> {
      assertThat(hit.chunks()).containsExactly("Hel", "lo", "!");
      assertThat(hit.text()).isEqualTo("Hello!");
      assertThat(hit.finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(hit.completionTokens()).isEqualTo(3);
    });
  }

  @Test
  void get_otherTenant_misses() {
    cache.put(key("a", "hi"), ANSWER);

    assertThat(cache.get(key("b", "hi"))).isEmpty();
  }

  @Test
  void get_otherSamplingOrInputKind_misses() {
    cache.put(key("a", "hi"), ANSWER);
    SamplingParams longer = GREEDY.withMaxTokens(17);

    assertThat(cache.get(CacheKey.chat("a", "m@1", List.of(ChatMessage.of(Role.USER, "hi")), longer, false))).isEmpty();
    assertThat(cache.get(CacheKey.prompt("a", "m@1", "hi", GREEDY, false))).isEmpty();
    assertThat(cache.get(CacheKey.chat("a", "m@2", List.of(ChatMessage.of(Role.USER, "hi")), GREEDY, false))).isEmpty();
  }

  @Test
  void get_defaultMaxTokensVersusTheSameExplicitValue_misses() {
    cache.put(key("a", "hi"), ANSWER);

    assertThat(cache.get(CacheKey.chat("a", "m@1", List.of(ChatMessage.of(Role.USER, "hi")), GREEDY, true))).isEmpty();
  }

  @Test
  void get_sameTextInAnotherUnicodeForm_hits() {
    cache.put(key("a", "caf\u00e9"), ANSWER); // precomposed é

    assertThat(cache.get(key("a", "cafe\u0301"))).isPresent(); // e + combining acute
  }

  @Test
  void key_separatorsInsideContent_doNotCollide() {
    CacheKey split = CacheKey.chat("a", "m", List.of(ChatMessage.of(Role.USER, "x\u001euser\u001fy")), GREEDY, false);
    CacheKey two = CacheKey.chat("a", "m",
        List.of(ChatMessage.of(Role.USER, "x"), new ChatMessage(Role.USER, "y", "")), GREEDY, false);

    assertThat(split).isNotEqualTo(two);
  }

  @Test
  void get_afterTtl_misses() {
    cache.put(key("a", "hi"), ANSWER);
    ticker.advance(Duration.ofMinutes(9));
    assertThat(cache.get(key("a", "hi"))).isPresent();

    ticker.advance(Duration.ofMinutes(2));

    assertThat(cache.get(key("a", "hi"))).isEmpty();
  }

  @Test
  void put_beyondTheByteBound_evictsToStayWithinIt() {
    ResponseCache small = ResponseCache.create(8 * 1024, Duration.ofMinutes(10), ticker);
    CachedCompletion big = CachedCompletion.of(List.of("x".repeat(1000)), FinishReason.LENGTH, 1, 1);

    for (int i = 0; i < 50; i++) {
      small.put(key("a", "q" + i), big);
    }

    assertThat(small.weightedBytes()).isLessThanOrEqualTo(8 * 1024);
    assertThat(small.size()).isBetween(1L, 4L);
  }

  @Test
  void put_zeroBytes_keepsNothing() {
    ResponseCache off = ResponseCache.create(0, Duration.ofMinutes(1), ticker);
    off.put(key("a", "hi"), ANSWER);

    assertThat(off.get(key("a", "hi"))).isEmpty();
  }
}
