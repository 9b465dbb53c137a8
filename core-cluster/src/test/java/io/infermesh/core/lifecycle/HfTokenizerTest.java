package io.infermesh.core.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.TestModels;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.TokenType;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Hugging Face byte-level BPE {@code tokenizer.json}, written from the tiny core model's GGUF
 * vocabulary the way transformers saves it, becomes the same tokenizer as the GGUF one.
 */
class HfTokenizerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GPT2_SPLIT =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  private static final List<String> SAMPLES = List.of(
      "Once upon a time, the little robot walked to the market.",
      "  spaces,\ttabs\nand newlines  ", "numbers 12345 and 3.14", "unicode: café, naïve, 日本語 🙂",
      "<|im_start|>user\nhi<|im_end|>");

  private static GgufMetadata gguf;
  private static Tokenizer reference;

  @BeforeAll
  static void load() throws Exception {
    Path file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), Files.createTempDirectory("hf-tok"));
    try (GgufFile f = GgufFile.open(file)) {
      gguf = f.metadata();
    }
    reference = Tokenizer.fromGguf(gguf);
  }

  /** tokenizer.json from the GGUF vocabulary; merges as "a b" strings (tokenizers < 0.20) or pairs. */
  private static Path write(Path dir, String split, boolean pairMerges, List<String> extraSpecials) throws IOException {
    List<String> tokens = gguf.getStringArray("tokenizer.ggml.tokens");
    int[] types = gguf.getIntArray("tokenizer.ggml.token_type");
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    ArrayNode added = root.putArray("added_tokens");
    ObjectNode model = root.putObject("model").put("type", "BPE");
    ObjectNode vocab = model.putObject("vocab");
    for (int i = 0; i < tokens.size(); i++) {
      if (types[i] == TokenType.CONTROL.id()) {
        added.addObject().put("id", i).put("content", tokens.get(i)).put("special", true);
      } else {
        vocab.put(tokens.get(i), i);
      }
    }
    for (int k = 0; k < extraSpecials.size(); k++) {
      added.addObject().put("id", tokens.size() + k).put("content", extraSpecials.get(k)).put("special", true);
    }
    ArrayNode merges = model.putArray("merges");
    for (String m : gguf.getStringArray("tokenizer.ggml.merges")) {
      if (pairMerges) {
        String[] ab = m.split(" ", 2);
        merges.addArray().add(ab[0]).add(ab[1]);
      } else {
        merges.add(m);
      }
    }
    ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
    ArrayNode steps = pre.putArray("pretokenizers");
    steps.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false)
        .putObject("pattern").put("Regex", split);
    steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
        .put("use_regex", false);
    root.putObject("decoder").put("type", "ByteLevel");
    root.putObject("post_processor").put("type", "ByteLevel");
    Files.writeString(dir.resolve("tokenizer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    return dir;
  }

  private static LlamaConfig config(int vocab, int bos, Set<Integer> eos) {
    LlamaConfig c = TestModels.config(vocab, 32, 48, 1, 4, 2, 64, true);
    return new LlamaConfig(c.vocabSize(), c.dim(), c.ffnDim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(),
        c.contextLength(), c.rmsNormEps(), c.ropeInverseFrequencies(), c.tiedEmbeddings(), bos, eos);
  }

  private static int id(String token) {
    return reference.tokenId(token).orElseThrow();
  }

  @Test
  void load_gpt2TokenizerJsonWithStringMerges_encodesAndDecodesLikeTheGgufTokenizer(@TempDir Path dir)
      throws Exception {
    int vocab = reference.vocabularySize();
    Tokenizer hf = HfTokenizer.load(write(dir, GPT2_SPLIT, false, List.of()),
        config(vocab, id("<|endoftext|>"), Set.of(id("<|im_end|>"))));
    assertThat(hf.preTokenizer()).isEqualTo(reference.preTokenizer());
    for (String s : SAMPLES) {
      int[] ids = hf.encode(s, false, true);
      assertThat(ids).as(s).containsExactly(reference.encode(s, false, true));
      assertThat(hf.decode(ids)).as(s).isEqualTo(reference.decode(ids));
    }
    assertThat(hf.isEndOfGeneration(id("<|im_end|>"))).isTrue();
    assertThat(hf.addsBos()).isFalse(); // the post-processor does not mention the BOS text
  }

  @Test
  void load_llama3SplitPairMergesAndHeaderTokens_llamaBpePreTokenizerAndChatTokensSpecial(@TempDir Path dir)
      throws Exception {
    int vocab = reference.vocabularySize();
    List<String> llama3 = List.of("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
    Tokenizer hf = HfTokenizer.load(write(dir, LLAMA3_SPLIT, true, llama3),
        config(vocab + llama3.size(), vocab, Set.of(vocab + 3)));
    assertThat(hf.preTokenizer()).isEqualTo("llama-bpe");
    assertThat(hf.tokenId("<|start_header_id|>")).contains(vocab + 1);
    assertThat(hf.encode("<|start_header_id|>user<|end_header_id|>", false, true)[0]).isEqualTo(vocab + 1);
    assertThat(hf.isEndOfGeneration(vocab + 3)).isTrue();
  }

  @Test
  void load_wordPieceModel_failsNamingWhatWasFound(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}");
    assertThatThrownBy(() -> HfTokenizer.load(dir, config(8, -1, Set.of())))
        .isInstanceOf(IOException.class).hasMessageContaining("byte-level BPE").hasMessageContaining("WordPiece");
  }

  @Test
  void load_tokenIdBeyondVocabSize_failsNamingTheToken(@TempDir Path dir) throws Exception {
    write(dir, GPT2_SPLIT, false, List.of("<|extra|>"));
    assertThatThrownBy(() -> HfTokenizer.load(dir, config(reference.vocabularySize(), -1, Set.of())))
        .isInstanceOf(IOException.class).hasMessageContaining("<|extra|>").hasMessageContaining("vocab_size");
  }

  @Test
  void load_noTokenizerJson_failsNamingTheDirectory(@TempDir Path dir) {
    assertThatThrownBy(() -> HfTokenizer.load(dir, config(8, -1, Set.of())))
        .isInstanceOf(IOException.class).hasMessageContaining("no tokenizer.json");
  }
}
