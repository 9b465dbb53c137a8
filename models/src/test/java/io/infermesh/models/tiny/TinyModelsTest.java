package io.infermesh.models.tiny;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.ModelMetadata;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufTensorInfo;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyModelsTest {
  @TempDir Path dir;

  static String sha256(Path file) throws IOException {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      in.transferTo(OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void write_twiceIntoFreshDirectories_givesIdenticalBytes() throws IOException {
    for (TinyModelSpec spec : List.of(TinyModelSpec.edge(GgmlType.Q8_0), TinyModelSpec.spm(GgmlType.F32))) {
      Path a = TinyModels.write(spec, dir.resolve("a"));
      Path b = TinyModels.write(spec, dir.resolve("b"));
      assertThat(sha256(a)).as(spec.fileName()).isEqualTo(sha256(b));
    }
  }

  @Test
  void write_edgeF32_hasTheGoldenHash() throws IOException {
    // Any change to the vocabulary, weights or layout changes this hash: that is a new model,
    // so bump TinyModels.GENERATOR_VERSION and update the hash here.
    Path p = TinyModels.write(TinyModelSpec.edge(GgmlType.F32), dir);
    assertThat(sha256(p)).isEqualTo(GOLDEN_EDGE_F32);
  }

  @Test
  void write_edgeTools_carriesQwensToolTemplateOverTheEdgeWeights() throws IOException {
    Path edge = TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), dir);
    Path tools = TinyModels.write(TinyModelSpec.edgeTools(GgmlType.Q8_0), dir);

    try (GgufFile e = GgufFile.open(edge); GgufFile t = GgufFile.open(tools)) {
      assertThat(t.metadata().getString("tokenizer.chat_template"))
          .isEqualTo(TinyChatTemplate.QWEN25_TOOLS.source())
          .contains("{%- for tool in tools %}", "<tool_call>");
      assertThat(e.metadata().getString("tokenizer.chat_template")).isEqualTo(TinyChatTemplate.CHATML.source());
      assertThat(t.tensors()).isEqualTo(e.tensors());
      assertThat(t.metadata().get("infermesh.tiny.seed")).isEqualTo(e.metadata().get("infermesh.tiny.seed"));
    }
  }

  static final String GOLDEN_EDGE_F32 = "56a5ab27460163d3cec60a92585579743c38dfdf8daf88b9d61b76024f1ee29f";

  @Test
  void write_existingIdenticalFile_isReusedUntouched() throws IOException {
    TinyModelSpec spec = TinyModelSpec.edge(GgmlType.Q8_0);
    Path p = TinyModels.write(spec, dir);
    FileTime old = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(p, old);
    List<Double> progress = new ArrayList<>();
    assertThat(TinyModels.write(spec, dir, progress::add)).isEqualTo(p);
    assertThat(Files.getLastModifiedTime(p)).isEqualTo(old);
    assertThat(progress).containsExactly(1.0);
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).containsExactly(p); // no temporary file left behind
    }
  }

  @Test
  void write_truncatedOrForeignFile_isReplaced() throws IOException {
    TinyModelSpec spec = TinyModelSpec.edge(GgmlType.F32);
    Path p = TinyModels.write(spec, dir);
    String hash = sha256(p);
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 100);
    }
    TinyModels.write(spec, dir);
    assertThat(sha256(p)).isEqualTo(hash);

    Files.writeString(p, "not a model");
    List<Double> progress = new ArrayList<>();
    TinyModels.write(spec, dir, progress::add);
    assertThat(sha256(p)).isEqualTo(hash);
    assertThat(progress).isNotEmpty().isSorted().last().isEqualTo(1.0);
  }

  @Test
  void write_core_hasLlamaShapesInGgmlOrder() throws IOException {
    TinyModelSpec spec = TinyModelSpec.core(GgmlType.Q8_0);
    try (GgufFile f = GgufFile.open(TinyModelFixture.path(spec))) {
      ModelMetadata m = ModelMetadata.from(f.metadata());
      assertThat(m.architecture()).isEqualTo("llama");
      assertThat(m.embeddingLength()).isEqualTo(128);
      assertThat(m.blockCount()).isEqualTo(4);
      assertThat(m.headCount()).isEqualTo(8);
      assertThat(m.headCountKv()).isEqualTo(2);
      assertThat(m.feedForwardLength()).isEqualTo(384);
      assertThat(m.contextLength()).isEqualTo(1024);
      assertThat(m.ropeDimensionCount()).isEqualTo(16);
      assertThat(m.vocabularySize()).isEqualTo(512);
      assertThat(m.chatTemplate()).hasValue(TinyVocabulary.CHATML_TEMPLATE);
      assertThat(f.metadata().getInt("general.alignment")).isEqualTo(32);

      assertThat(f.tensors()).hasSize(2 + 9 * 4 + 1);
      assertThat(f.tensor("token_embd.weight").dims()).containsExactly(128, 512);
      assertThat(f.tensor("blk.0.attn_q.weight").dims()).containsExactly(128, 128);
      assertThat(f.tensor("blk.0.attn_k.weight").dims()).containsExactly(128, 32);
      assertThat(f.tensor("blk.3.attn_v.weight").dims()).containsExactly(128, 32);
      assertThat(f.tensor("blk.3.ffn_down.weight").dims()).containsExactly(384, 128);
      assertThat(f.tensor("blk.3.ffn_up.weight").dims()).containsExactly(128, 384);
      assertThat(f.tensor("output.weight").dims()).containsExactly(128, 512);
      assertThat(f.tensor("output_norm.weight").type()).isEqualTo(GgmlType.F32);
      assertThat(f.tensor("blk.2.ffn_gate.weight").type()).isEqualTo(GgmlType.Q8_0);

      float[] norm = f.dequantize("blk.1.attn_norm.weight");
      for (float v : norm) assertThat(v).isBetween(0.8f, 1.2f);
      assertThat(distinct(norm)).isGreaterThan(100);
      float[] output = f.dequantize("output.weight");
      double rms = rms(output);
      assertThat(rms).isBetween(0.2, 0.32); // 3 / sqrt(128) = 0.265
    }
  }

  @Test
  void write_sameNameAndSeedInF32AndQ8_0_sharesTheWeights() throws IOException {
    try (GgufFile f32 = GgufFile.open(TinyModelFixture.path(TinyModelSpec.edge(GgmlType.F32)));
        GgufFile q8 = GgufFile.open(TinyModelFixture.path(TinyModelSpec.edge(GgmlType.Q8_0)))) {
      for (GgufTensorInfo t : f32.tensors()) {
        float[] a = f32.dequantize(t);
        float[] b = q8.dequantize(t.name());
        double err = 0;
        for (int i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
        assertThat(err).as(t.name()).isLessThan(rmsMax(a) / 100);
      }
    }
  }

  @Test
  void tokenizer_learnedVocabulary_looksLikeEnglishBpe() {
    Tokenizer bpe = TinyModelFixture.tokenizer(TinyModelSpec.edge(GgmlType.F32));
    assertThat(bpe.vocabularySize()).isEqualTo(512);
    assertThat(bpe.tokenId("Ġthe")).isPresent();
    assertThat(bpe.tokenId("ing")).isPresent();
    assertThat(bpe.encode(" the river")).hasSize(2);
    Tokenizer spm = TinyModelFixture.tokenizer(TinyModelSpec.spm(GgmlType.F32));
    assertThat(spm.vocabularySize()).isEqualTo(512);
    assertThat(spm.encode("the water")).containsExactly(spm.tokenId("▁the").orElseThrow(), spm.tokenId("▁water").orElseThrow());
  }

  @Test
  void tokenizer_32kWordsVocabulary_padsWithWordsThatDecodeToTextAndLeavesEncodingAlone() {
    Tokenizer small = TinyModelFixture.tokenizer(TinyModelSpec.edge(GgmlType.F32));
    Tokenizer large = TinyModelFixture.tokenizer(
        new TinyModelSpec("bpe-32k", VocabularyKind.BPE_32K_WORDS, 64, 2, 4, 2, 192, 512, GgmlType.F32, 5));
    assertThat(large.vocabularySize()).isEqualTo(32_000);
    for (int id = 512; id < 32_000; id += 997) {
      assertThat(large.decode(id)).as("token %d", id).isNotBlank();
    }
    assertThat(large.decode(31_999)).isNotBlank();
    assertThat(large.encode(" the river runs to the sea")).containsExactly(small.encode(" the river runs to the sea"));
    assertThat(large.tokenId("<|im_end|>")).isEqualTo(small.tokenId("<|im_end|>"));
  }

  @Test
  void spec_factories_haveTheAgreedShapesAndNames() {
    assertThat(TinyModelSpec.edge(GgmlType.Q8_0).fileName()).isEqualTo("tiny-edge-q8_0.gguf");
    assertThat(TinyModelSpec.core(GgmlType.F32).fileName()).isEqualTo("tiny-core-f32.gguf");
    assertThat(TinyModelSpec.spm(GgmlType.F32).fileName()).isEqualTo("tiny-spm-f32.gguf");
    TinyModelSpec half = TinyModelSpec.halfBillionShape(GgmlType.Q4_0);
    assertThat(half.fileName()).isEqualTo("tiny-half-billion-q4_0.gguf");
    assertThat(List.of(half.embeddingLength(), half.blockCount(), half.headCount(), half.headCountKv(), half.feedForwardLength(), half.contextLength()))
        .containsExactly(896, 24, 14, 2, 4864, 2048);
    assertThat(TinyModelSpec.edge(GgmlType.F32).headCountKv()).isLessThan(TinyModelSpec.edge(GgmlType.F32).headCount());
  }

  @Test
  void spec_invalidShapes_failNamingTheParameter() {
    assertThatThrownBy(() -> new TinyModelSpec("x", VocabularyKind.BPE, 64, 2, 4, 3, 192, 512, GgmlType.F32, 1))
        .hasMessage("headCountKv 3 must divide headCount 4");
    assertThatThrownBy(() -> new TinyModelSpec("x", VocabularyKind.BPE, 48, 2, 4, 2, 192, 512, GgmlType.Q8_0, 1))
        .hasMessage("Q8_0 needs embeddingLength and feedForwardLength to be multiples of 32");
    assertThatThrownBy(() -> new TinyModelSpec("x", VocabularyKind.BPE, 64, 2, 4, 2, 192, 512, GgmlType.Q4_K, 1))
        .hasMessage("weightType must be one of F32, F16, Q8_0, Q4_0, got Q4_K");
    assertThatThrownBy(() -> new TinyModelSpec("Bad Name", VocabularyKind.BPE, 64, 2, 4, 2, 192, 512, GgmlType.F32, 1))
        .hasMessageContaining("name must be");
    assertThatThrownBy(() -> new TinyModelSpec("x", VocabularyKind.BPE, 64, 0, 4, 2, 192, 512, GgmlType.F32, 1))
        .hasMessage("blockCount must be positive, got 0");
  }

  private static long distinct(float[] v) {
    return IntStream.range(0, v.length).mapToObj(i -> v[i]).distinct().count();
  }

  private static double rms(float[] v) {
    double s = 0;
    for (float x : v) s += x * (double) x;
    return Math.sqrt(s / v.length);
  }

  private static double rmsMax(float[] v) {
    double m = 0;
    for (float x : v) m = Math.max(m, Math.abs(x));
    return m;
  }
}
