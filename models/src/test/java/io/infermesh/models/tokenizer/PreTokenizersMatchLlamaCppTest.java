package io.infermesh.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufTensorInfo;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.gguf.GgufWriter;
import io.infermesh.models.tiny.LlamaCpp;
import io.infermesh.models.tiny.TinyModelFixture;
import io.infermesh.models.tiny.TinyModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The other pre-tokenizers ({@code llama3}, {@code qwen2}) and the Unicode class table agree with
 * llama.cpp: the tiny BPE model is rewritten with another {@code tokenizer.ggml.pre}, or with merges
 * that only form if llama.cpp classifies a code point the way our table does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PreTokenizersMatchLlamaCppTest {
  /**
   * Code points whose class differs between Unicode 15.1 (llama.cpp's table, and ours) and Java
   * 17's Unicode 13 tables, followed by a character that merges with them only if the class is
   * right: U+0870 (letter, Unicode 14), U+11F04 (letter, 15.0), U+2EBF0 (letter, 15.1), U+1E4F1
   * (digit, 15.0). Each probe is "a" + letter or "1" + digit.
   */
  static final List<String> LETTER_AND_DIGIT_PROBES =
      List.of("a\u0870", "a" + cp(0x11F04), "a" + cp(0x2EBF0), "1" + cp(0x1E4F1));

  @TempDir static Path dir;

  private final Map<String, LlamaCpp.Loaded> models = new LinkedHashMap<>();
  private final Map<String, Tokenizer> tokenizers = new LinkedHashMap<>();

  @BeforeAll
  void load() throws IOException {
    Path edge = TinyModelFixture.path(TinyModelSpec.edge(GgmlType.F32));
    for (String pre : List.of("llama3", "qwen2")) {
      Path file = rewrite(edge, dir.resolve(pre + ".gguf"), b -> b.putString("tokenizer.ggml.pre", pre));
      LlamaCpp.Loaded loaded = LlamaCpp.loadLogged(file, 512, dir.resolve(pre + ".log"));
      assertThat(loaded.warnings()).as("llama.cpp warnings loading %s", pre).isEmpty();
      add(pre, file, loaded);
    }
    for (String pre : List.of("gpt-2", "llama3")) {
      Path file = rewrite(edge, dir.resolve("probe-" + pre + ".gguf"), b -> withProbeMerges(b.putString("tokenizer.ggml.pre", pre)));
      add("probe-" + pre, file, LlamaCpp.load(file, 512));
    }
  }

  private void add(String name, Path file, LlamaCpp.Loaded loaded) throws IOException {
    models.put(name, loaded);
    try (GgufFile f = GgufFile.open(file)) {
      tokenizers.put(name, Tokenizer.fromGguf(f.metadata()));
    }
  }

  @AfterAll
  void close() {
    models.values().forEach(LlamaCpp.Loaded::close);
  }

  static Stream<Arguments> textsPerPreTokenizer() {
    return Stream.of("llama3", "qwen2")
        .flatMap(pre -> TokenizerMatchesLlamaCppTest.TEXTS.stream().map(t -> Arguments.of(pre, t)));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("textsPerPreTokenizer")
  void encode_otherPreTokenizers_equalLlamaCpp(String pre, String text) {
    assertThat(tokenizers.get(pre).encode(text, false, true)).isEqualTo(models.get(pre).model().encode(text));
  }

  @Test
  void encode_digitGroups_followThePreTokenizer() {
    // llama3 groups digits by three, qwen2 splits them, gpt-2 keeps runs: all as llama.cpp does
    String digits = "1234567";
    assertThat(tokenizers.get("llama3").encode(digits)).isEqualTo(models.get("llama3").model().encode(digits));
    assertThat(tokenizers.get("qwen2").encode(digits)).hasSize(7);
  }

  @ParameterizedTest
  @MethodSource("probes")
  void encode_codePointsNewerThanJava17_classifiedLikeLlamaCpp(String model, String probe) {
    Tokenizer ours = tokenizers.get(model);
    int[] expected = models.get(model).model().encode(probe);
    assertThat(ours.encode(probe)).isEqualTo(expected);
    if (!probe.startsWith("\u00a0")) {
      // llama.cpp kept letter/digit and probe code point in one word, so the probe merge applied
      assertThat(expected).as("llama.cpp ids for %s", probe).hasSize(1);
    }
  }

  static Stream<Arguments> probes() {
    List<String> all = new ArrayList<>(LETTER_AND_DIGIT_PROBES);
    all.add("\u00a0\u00a0b"); // NBSP is \s for llama.cpp (not for Character.isWhitespace)
    return Stream.of("probe-gpt-2", "probe-llama3").flatMap(m -> all.stream().map(p -> Arguments.of(m, p)));
  }

  @Test
  void encode_nbspPair_staysApartBecauseItIsWhitespace() {
    Tokenizer ours = tokenizers.get("probe-gpt-2");
    String pair = ByteLevel.encode(new int[] {0xA0, 0xA0}, 0, 2);
    int merged = ours.tokenId(pair).orElseThrow();
    assertThat(ours.encode("a\u00a0\u00a0b")).doesNotContain(merged).isEqualTo(models.get("probe-gpt-2").model().encode("a\u00a0\u00a0b"));
  }

  /** Appends tokens and merges that build each probe as one token. */
  private static GgufMetadata.Builder withProbeMerges(GgufMetadata.Builder b) {
    GgufMetadata m = b.build();
    List<String> tokens = new ArrayList<>(m.getStringArray("tokenizer.ggml.tokens"));
    List<String> merges = new ArrayList<>(m.getStringArray("tokenizer.ggml.merges"));
    List<Integer> types = new ArrayList<>();
    for (int t : m.getIntArray("tokenizer.ggml.token_type")) types.add(t);
    List<String> probes = new ArrayList<>(LETTER_AND_DIGIT_PROBES);
    probes.add("\u00a0\u00a0");
    for (String probe : probes) {
      int[] cpts = probe.codePoints().toArray();
      String word = ByteLevel.encode(cpts, 0, cpts.length);
      // merge left to right: c0 c1 -> c0c1, c0c1 c2 -> c0c1c2, ...
      String built = word.substring(0, 1);
      for (int i = 1; i < word.length(); i++) {
        String next = word.substring(i, i + 1);
        merges.add(built + " " + next);
        built = built + next;
        if (!tokens.contains(built)) {
          tokens.add(built);
          types.add(TokenType.NORMAL.id());
        }
      }
    }
    return b.put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens))
        .put("tokenizer.ggml.token_type", GgufValue.int32Array(types.stream().mapToInt(Integer::intValue).toArray()))
        .put("tokenizer.ggml.merges", GgufValue.stringArray(merges))
        .put("llama.vocab_size", GgufValue.uint32(tokens.size()));
  }

  /**
   * Copies a model with changed metadata; the vocabulary may grow, so token_embd and output get
   * zero rows appended.
   */
  static Path rewrite(Path source, Path target, UnaryOperator<GgufMetadata.Builder> change) throws IOException {
    try (GgufFile in = GgufFile.open(source)) {
      GgufMetadata metadata = change.apply(in.metadata().toBuilder()).build();
      int vocab = metadata.getStringArray("tokenizer.ggml.tokens").size();
      GgufWriter.Builder b = GgufWriter.builder().metadata(metadata);
      for (GgufTensorInfo t : in.tensors()) {
        long[] dims = t.dims();
        if (isVocabSized(t)) dims[1] = vocab;
        b.tensor(t.name(), t.type(), dims);
      }
      try (GgufWriter w = b.open(target)) {
        for (GgufTensorInfo t : in.tensors()) {
          w.writeTensorBytes(t.name(), in.tensorData(t));
          int extra = isVocabSized(t) ? (int) ((vocab - t.dim(1)) * t.dim(0)) : 0;
          if (extra > 0) {
            w.writeTensorPart(t.name(), new float[extra], 0, extra);
          }
        }
      }
    }
    return target;
  }

  private static boolean isVocabSized(GgufTensorInfo t) {
    return t.name().equals("token_embd.weight") || t.name().equals("output.weight");
  }

  private static String cp(int codePoint) {
    return new String(Character.toChars(codePoint));
  }

  @Test
  void probeCodePoints_classifiedByTheUnicode15Table() {
    assertThat(Codepoints.isLetter(0x0870)).isTrue(); // unassigned in Java 17's Unicode 13
    assertThat(Codepoints.isLetter(0x11F04)).isTrue();
    assertThat(Codepoints.isLetter(0x2EBF0)).isTrue();
    assertThat(Codepoints.isNumber(0x1E4F1)).isTrue();
    assertThat(Codepoints.isWhitespace(0xA0)).isTrue(); // Character.isWhitespace says no
    assertThat(Codepoints.classOf(0x0378)).isEqualTo(Codepoints.UNASSIGNED);
    assertThat(Codepoints.classOf(0x1F916)).isEqualTo(Codepoints.SYMBOL);
    assertThat(Codepoints.classOf(0x110000)).isEqualTo(Codepoints.UNASSIGNED);
  }
}
