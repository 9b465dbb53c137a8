package io.infermesh.models.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tokenizer.TokenType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark vocabulary of words ({@link VocabularyKind#BPE_LARGE_WORDS}). */
class WordsVocabularyTest {
  @TempDir Path dir;

  @Test
  void wordsVocabulary_isBpeThenDistinctWords_untilQwenSize() {
    TinyVocabulary bpe = TinyVocabulary.of(VocabularyKind.BPE);
    TinyVocabulary words = TinyVocabulary.of(VocabularyKind.BPE_LARGE_WORDS);

    assertThat(words.size()).isEqualTo(TinyVocabulary.LARGE_SIZE);
    assertThat(words.tokens.subList(0, bpe.size())).isEqualTo(bpe.tokens);
    assertThat(words.merges).isEqualTo(bpe.merges);
    List<String> padding = words.tokens.subList(bpe.size(), words.size());
    assertThat(padding).allMatch(t -> t.matches("\u0120[a-z]{4,6}"));
    assertThat(new HashSet<>(words.tokens)).hasSize(words.size());
    for (int i = bpe.size(); i < words.size(); i++) {
      assertThat(words.types[i]).isEqualTo(TokenType.NORMAL.id());
    }
  }

  @Test
  void llamaCpp_decodesPaddingTokensToTheirWords() throws IOException {
    TinyModelSpec spec = new TinyModelSpec("words", VocabularyKind.BPE_LARGE_WORDS, 64, 1, 4, 2, 192, 256,
        GgmlType.Q8_0, 7);
    TinyVocabulary words = TinyVocabulary.of(VocabularyKind.BPE_LARGE_WORDS);
    int first = TinyVocabulary.of(VocabularyKind.BPE).size();
    int last = words.size() - 1;

    try (LlamaCpp.Loaded loaded = LlamaCpp.load(TinyModels.write(spec, dir), spec.contextLength())) {
      assertThat(loaded.model().decode(new int[] {first, last}))
          .isEqualTo(" " + words.tokens.get(first).substring(1) + " " + words.tokens.get(last).substring(1));
    }
  }

  @Test
  void halfBillionWords_sharesTheHalfBillionShapeAndWeights() {
    TinyModelSpec shape = TinyModelSpec.halfBillionShape(GgmlType.Q4_0);
    TinyModelSpec words = TinyModelSpec.halfBillionWords(GgmlType.Q4_0);

    assertThat(words.fileName()).isEqualTo("tiny-half-billion-words-q4_0.gguf");
    assertThat(words.vocabulary()).isEqualTo(VocabularyKind.BPE_LARGE_WORDS);
    assertThat(List.of(words.embeddingLength(), words.blockCount(), words.headCount(), words.headCountKv(),
        words.feedForwardLength(), words.contextLength())).isEqualTo(List.of(shape.embeddingLength(),
        shape.blockCount(), shape.headCount(), shape.headCountKv(), shape.feedForwardLength(), shape.contextLength()));
    assertThat(words.seed()).isEqualTo(shape.seed());
  }
}
