package io.infermesh.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.LlamaCpp;
import io.infermesh.models.tiny.TinyModelFixture;
import io.infermesh.models.tiny.TinyModelSpec;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Our token ids equal llama.cpp's ({@code LlamaModel.encode}, which tokenizes with {@code
 * add_special = false, parse_special = true}) for the BPE and the SentencePiece tiny models.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerMatchesLlamaCppTest {
  static final List<String> TEXTS = List.of(
      "Hello world",
      "Hello, world! How are you today?",
      " leading space",
      "trailing space ",
      "  two  spaces  between   words   ",
      "line one\nline two\r\nline three\n\n\nend",
      "\ttab\tseparated\t\tvalues\t",
      "numbers 1 12 123 1234 12345 3.14159 -42 1e10 007",
      "I'm sure it's what they'd've said; we'll see, you're right",
      "CAPS'S 'LL 'VE 'RE 'D 'M 'T",
      "punctuation!!! ... ??? --- (a) [b] {c} <d> @e #f $g %h ^i &j *k ~l `m |n",
      "café naïve résumé straße über mañana",
      "Ελληνικά κείμενο",
      "русский язык",
      "中文字符测试",
      "日本語のテキスト",
      "한국어 텍스트",
      "emoji 👍🏽 🤖 🇩🇪 👨‍👩‍👧 done",
      "mixed: abc123def 456ghi ΑΒΓ123",
      "code: for (int i = 0; i < n; i++) { sum += x[i]; } // 🤖",
      "\u00a0nbsp\u3000ideographic\u2009thin\u0085nel",
      "",
      " ",
      "\n",
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
      "text with <|endoftext|> inside",
      "<|im_end|><|im_end|>x<|im_start|>",
      "<unk> <s> </s> <0x0A> ▁escaped",
      "The weather today is cold and windy, with some rain in the morning.");

  private LlamaCpp.Loaded bpeModel;
  private LlamaCpp.Loaded spmModel;
  private Tokenizer bpe;
  private Tokenizer spm;

  @BeforeAll
  void load() {
    TinyModelSpec bpeSpec = TinyModelSpec.edge(GgmlType.F32);
    TinyModelSpec spmSpec = TinyModelSpec.spm(GgmlType.F32);
    bpeModel = LlamaCpp.load(TinyModelFixture.path(bpeSpec), 512);
    spmModel = LlamaCpp.load(TinyModelFixture.path(spmSpec), 512);
    bpe = TinyModelFixture.tokenizer(bpeSpec);
    spm = TinyModelFixture.tokenizer(spmSpec);
  }

  @AfterAll
  void close() {
    bpeModel.close();
    spmModel.close();
  }

  static Stream<String> texts() {
    return TEXTS.stream();
  }

  @ParameterizedTest
  @MethodSource("texts")
  void encode_bpe_equalsLlamaCpp(String text) {
    assertThat(bpe.encode(text, false, true)).isEqualTo(bpeModel.model().encode(text));
  }

  @ParameterizedTest
  @MethodSource("texts")
  void encode_spm_equalsLlamaCpp(String text) {
    assertThat(spm.encode(text, false, true)).isEqualTo(spmModel.model().encode(text));
  }

  @ParameterizedTest
  @MethodSource("texts")
  void pieces_bothVocabularies_equalLlamaCppDecode(String text) {
    for (var pair : List.of(List.of(bpe, bpeModel), List.of(spm, spmModel))) {
      Tokenizer ours = (Tokenizer) pair.get(0);
      LlamaCpp.Loaded theirs = (LlamaCpp.Loaded) pair.get(1);
      int[] ids = theirs.model().encode(text);
      ByteArrayOutputStream pieces = new ByteArrayOutputStream();
      for (int id : ids) pieces.writeBytes(ours.piece(id, true));
      // de.kherud decodes with special tokens rendered and no space stripping
      assertThat(pieces.toString(StandardCharsets.UTF_8)).isEqualTo(theirs.model().decode(ids));
    }
  }

  @ParameterizedTest
  @MethodSource("texts")
  void decode_ofEncode_returnsTheText(String text) {
    assertThat(bpe.decode(bpe.encode(text))).isEqualTo(text);
    // SentencePiece spells space as ▁, so a literal ▁ comes back as a space (llama.cpp alike)
    assertThat(spm.decode(spm.encode(text))).isEqualTo(text.replace('\u2581', ' '));
  }

  @Test
  void encode_controlTokens_parsedOnlyWhenAsked() {
    int imStart = bpe.tokenId("<|im_start|>").orElseThrow();
    assertThat(bpe.encode("<|im_start|>", false, true)).containsExactly(imStart);
    assertThat(bpe.encode("<|im_start|>", false, false)).hasSizeGreaterThan(1).doesNotContain(imStart);
    assertThat(bpe.tokenType(imStart)).isEqualTo(TokenType.CONTROL);
    assertThat(bpe.decode(new int[] {imStart}, false)).isEmpty();
    assertThat(bpe.decode(new int[] {imStart}, true)).isEqualTo("<|im_start|>");
  }

  @Test
  void specialTokens_resolvedFromMetadata() {
    int endOfText = bpe.tokenId("<|endoftext|>").orElseThrow();
    int imEnd = bpe.tokenId("<|im_end|>").orElseThrow();
    assertThat(bpe.specialTokens().bos()).hasValue(endOfText);
    assertThat(bpe.specialTokens().eos()).hasValue(imEnd);
    assertThat(bpe.specialTokens().eot()).hasValue(imEnd);
    assertThat(bpe.specialTokens().pad()).hasValue(endOfText);
    assertThat(bpe.endOfGenerationTokens()).containsExactlyInAnyOrder(endOfText, imEnd);
    assertThat(bpe.isEndOfGeneration(bpe.encode("a")[0])).isFalse();
    assertThat(bpe.addsBos()).isFalse();
    assertThat(bpe.preTokenizer()).isEqualTo("gpt-2");

    int spmImEnd = spm.tokenId("<|im_end|>").orElseThrow();
    assertThat(spm.specialTokens().bos()).hasValue(1);
    assertThat(spm.specialTokens().eos()).hasValue(spmImEnd);
    assertThat(spm.specialTokens().unk()).hasValue(0);
    assertThat(spm.tokenType(2)).isEqualTo(TokenType.CONTROL); // </s>, not end of generation here
    assertThat(spm.addsBos()).isTrue();
    assertThat(spm.encode("Hi", true, false)).startsWith(1);
    assertThat(spm.endOfGenerationTokens()).containsExactly(spmImEnd);
  }

  @Test
  void encode_spmUnknownCharacter_fallsBackToByteTokens() {
    int[] ids = spm.encode("🤖");
    // ▁ then the four UTF-8 bytes of U+1F916 as <0xF0> <0x9F> <0xA4> <0x96>
    assertThat(ids).hasSize(5);
    assertThat(spm.tokenText(ids[1])).isEqualTo("<0xF0>");
    assertThat(spm.tokenType(ids[4])).isEqualTo(TokenType.BYTE);
    assertThat(spm.decode(ids)).isEqualTo("🤖");
  }
}
