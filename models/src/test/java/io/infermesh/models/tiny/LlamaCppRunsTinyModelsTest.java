package io.infermesh.models.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.Pair;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufTensorInfo;
import io.infermesh.models.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** llama.cpp loads every tiny model and generates from it, greedily and repeatably. */
class LlamaCppRunsTinyModelsTest {
  @TempDir Path dir;

  static Stream<TinyModelSpec> specs() {
    return Stream.of(
        TinyModelSpec.edge(GgmlType.F32),
        TinyModelSpec.edge(GgmlType.Q8_0),
        TinyModelSpec.edge(GgmlType.Q4_0),
        TinyModelSpec.core(GgmlType.F32),
        TinyModelSpec.core(GgmlType.Q8_0),
        TinyModelSpec.spm(GgmlType.F32));
  }

  @ParameterizedTest
  @MethodSource("specs")
  void load_andGenerateEightTokens_greedilyAndRepeatably(TinyModelSpec spec) {
    try (LlamaCpp.Loaded loaded = LlamaCpp.load(TinyModelFixture.path(spec), spec.contextLength())) {
      List<String> first = generate(loaded, "The weather today is");
      List<String> second = generate(loaded, "The weather today is");
      // outputs hold whole characters, so tokens ending inside one are merged into the next output
      assertThat(first).hasSizeBetween(1, 8);
      assertThat(String.join("", first)).isNotEmpty();
      assertThat(second).isEqualTo(first);
      assertThat(loaded.model().applyTemplate(
          new InferenceParameters("").setMessages("You are terse.", List.of(new Pair<>("user", "Hi")))))
          .isEqualTo("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }
  }

  @ParameterizedTest
  @MethodSource("oneModelPerVocabulary")
  void load_eachVocabulary_logsNoWarnings(TinyModelSpec spec) {
    try (LlamaCpp.Loaded loaded = LlamaCpp.loadLogged(TinyModelFixture.path(spec), spec.contextLength(), dir.resolve("llama.log"))) {
      assertThat(loaded.warnings()).isEmpty();
    }
  }

  static Stream<TinyModelSpec> oneModelPerVocabulary() {
    return Stream.of(TinyModelSpec.edge(GgmlType.F32), TinyModelSpec.spm(GgmlType.F32));
  }

  @Test
  void loadLogged_modelWithoutPreTokenizer_reportsLlamaCppsWarning() throws IOException {
    // The check above can fail: drop tokenizer.ggml.pre and llama.cpp complains.
    Path source = TinyModelFixture.path(TinyModelSpec.edge(GgmlType.F32));
    Path broken = dir.resolve("no-pre.gguf");
    try (GgufFile in = GgufFile.open(source)) {
      GgufWriter.Builder b = GgufWriter.builder().metadata(in.metadata().toBuilder().remove("tokenizer.ggml.pre").build());
      for (GgufTensorInfo t : in.tensors()) b.tensor(t.name(), t.type(), t.dims());
      try (GgufWriter w = b.open(broken)) {
        for (GgufTensorInfo t : in.tensors()) w.writeTensorBytes(t.name(), in.tensorData(t));
      }
    }
    try (LlamaCpp.Loaded loaded = LlamaCpp.loadLogged(broken, 512, dir.resolve("no-pre.log"))) {
      assertThat(loaded.warnings()).anySatisfy(w -> assertThat(w).contains("missing pre-tokenizer type"));
    }
  }

  private static List<String> generate(LlamaCpp.Loaded loaded, String prompt) {
    InferenceParameters p = new InferenceParameters(prompt)
        .setNPredict(8)
        .setTemperature(0f)
        .setSeed(42)
        .setIgnoreEos(true)
        .setCachePrompt(false);
    List<String> pieces = new ArrayList<>();
    for (LlamaOutput out : loaded.model().generate(p)) {
      pieces.add(out.text);
    }
    return pieces;
  }
}
