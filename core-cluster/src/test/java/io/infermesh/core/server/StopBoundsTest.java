package io.infermesh.core.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.infermesh.api.v1.SamplingParams;
import io.infermesh.core.status.CoreException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The core bounds stop strings as the edge does (gRPC callers reach it directly) and cuts in linear time. */
class StopBoundsTest {

  @Test
  void sampling_stopOverTheByteBound_isRefusedNamingTheElement() {
    SamplingParams huge = SamplingParams.newBuilder().addStop("END").addStop("e".repeat(1_000_000)).build();

    assertThatThrownBy(() -> RequestValidator.sampling(huge))
        .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.kind()).isEqualTo(CoreException.Kind.INVALID_ARGUMENT))
        .hasMessage("sampling.stop[1]: must be at most 1024 bytes of UTF-8, got 1000000");
  }

  @Test
  void sampling_fiveStops_isRefused() {
    SamplingParams five = SamplingParams.newBuilder().addAllStop(List.of("a", "b", "c", "d", "e")).build();

    assertThatThrownBy(() -> RequestValidator.sampling(five)).hasMessageStartingWith("sampling.stop: at most 4");
  }

  @Test
  void sampling_stopsAtTheBound_areAccepted() {
    SamplingParams bound = SamplingParams.newBuilder().addStop("e".repeat(1024)).addStop("\n\n").build();

    assertThat(RequestValidator.sampling(bound)).isNotNull();
  }

  @Test
  void accept_boundedStopsOverALongAnswer_takesMilliseconds() {
    StopMatcher stops = new StopMatcher(List.of("e".repeat(1024), "e".repeat(1023) + "x"));

    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      StringBuilder out = new StringBuilder();
      for (int token = 0; token < 100_000; token++) {
        out.append(stops.accept(token % 1000 == 999 ? "y" : "e"));
      }
      assertThat(stops.stopped()).isFalse();
      assertThat(out.length() + stops.flush().length()).isEqualTo(100_000);
    });
  }
}
