package io.infermesh.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchedBenchTest {

  @Test
  void parse_llamaBatchedBenchTable_readsDecodeRatePerBatch() throws IOException {
    List<String> output = List.of(
        "main: n_kv_max = 1600, n_batch = 2048, n_ubatch = 512, flash_attn = 0, is_pp_shared = 0, n_gpu_layers = 0",
        "",
        "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |",
        "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|",
        "|    32 |     64 |    1 |     96 |    0.061 |   524.59 |    1.438 |    44.51 |    1.499 |    64.04 |",
        "|    32 |     64 |   16 |   1536 |    0.802 |   638.40 |    3.704 |   276.45 |    4.506 |   340.87 |",
        "",
        "llama_perf_context_print:        load time =     312.00 ms");

    Map<Integer, Double> rates = BatchedBench.parse(output);

    assertThat(rates).containsExactly(Map.entry(1, 44.51), Map.entry(16, 276.45));
  }

  @Test
  void parse_outputWithoutTable_failsSayingWhatIsMissing() {
    assertThatThrownBy(() -> BatchedBench.parse(List.of("error: failed to load model")))
        .isInstanceOf(IOException.class).hasMessageContaining("S_TG t/s");
  }
}
