package io.infermesh.models.tiny;

import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tokenizer.BpeTrainer;
import io.infermesh.models.tokenizer.SentencePieceTrainer;
import io.infermesh.models.tokenizer.TokenType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A tiny model's tokenizer, learned from the embedded corpus, and the {@code tokenizer.*}
 * metadata that describes it to llama.cpp.
 *
 * <p>Immutable and thread-safe; each kind is learned once per JVM.
 */
final class TinyVocabulary {
  static final int SIZE = 512;
  static final int LARGE_SIZE = 151_936;
  static final int SIZE_32K = 32_000;

  /** The standard ChatML template, which llama.cpp recognizes as {@code chatml}. */
  static final String CHATML_TEMPLATE =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
          + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  private static final Map<VocabularyKind, TinyVocabulary> CACHE = new EnumMap<>(VocabularyKind.class);

  final VocabularyKind kind;
  final List<String> tokens;
  final int[] types;
  final float[] scores; // SPM only
  final List<String> merges; // BPE only

  private TinyVocabulary(VocabularyKind kind, List<String> tokens, int[] types, float[] scores, List<String> merges) {
    this.kind = kind;
    this.tokens = List.copyOf(tokens);
    this.types = types;
    this.scores = scores;
    this.merges = merges == null ? null : List.copyOf(merges);
  }

  static synchronized TinyVocabulary of(VocabularyKind kind) {
    return CACHE.computeIfAbsent(kind, TinyVocabulary::learn);
  }

  int size() {
    return tokens.size();
  }

  int id(String token) {
    int id = tokens.indexOf(token);
    if (id < 0) {
      throw new IllegalStateException("tiny vocabulary has no " + token);
    }
    return id;
  }

  private static TinyVocabulary learn(VocabularyKind kind) {
    String corpus = corpus();
    if (kind == VocabularyKind.SPM) {
      List<String> specials = List.of("<unk>", "<s>", "</s>");
      SentencePieceTrainer.Result learned = SentencePieceTrainer.train(corpus, SIZE - specials.size() - 256 - 2);
      List<String> tokens = new ArrayList<>(specials);
      List<Integer> types = new ArrayList<>(List.of(TokenType.UNKNOWN.id(), TokenType.CONTROL.id(), TokenType.CONTROL.id()));
      List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
      for (int b = 0; b < 256; b++) {
        tokens.add(String.format("<0x%02X>", b));
        types.add(TokenType.BYTE.id());
        scores.add(0f);
      }
      float[] pieceScores = learned.scores();
      for (int i = 0; i < learned.pieces().size(); i++) {
        tokens.add(learned.pieces().get(i));
        types.add(TokenType.NORMAL.id());
        scores.add(pieceScores[i]);
      }
      for (String chat : List.of("<|im_start|>", "<|im_end|>")) {
        tokens.add(chat);
        types.add(TokenType.CONTROL.id());
        scores.add(0f);
      }
      float[] s = new float[scores.size()];
      for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
      return new TinyVocabulary(kind, tokens, types.stream().mapToInt(Integer::intValue).toArray(), s, null);
    }
    BpeTrainer.Result learned = BpeTrainer.train(corpus, SIZE - 3);
    List<String> tokens = new ArrayList<>(learned.tokens());
    int learnedCount = tokens.size();
    tokens.addAll(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
    int size = switch (kind) {
      case BPE -> tokens.size();
      case BPE_32K_WORDS -> SIZE_32K;
      default -> LARGE_SIZE;
    };
    int[] types = new int[size];
    Arrays.fill(types, 0, learnedCount, TokenType.NORMAL.id());
    Arrays.fill(types, learnedCount, learnedCount + 3, TokenType.CONTROL.id());
    if (kind == VocabularyKind.BPE_LARGE_WORDS || kind == VocabularyKind.BPE_32K_WORDS) {
      int padded = tokens.size();
      addWords(tokens, size);
      Arrays.fill(types, padded, size, TokenType.NORMAL.id());
    }
    for (int i = tokens.size(); i < size; i++) {
      tokens.add("<|reserved_" + i + "|>");
      types[i] = TokenType.UNUSED.id();
    }
    return new TinyVocabulary(kind, tokens, types, null, learned.merges());
  }

  /**
   * Appends made-up words after a space until {@code tokens} has {@code size} entries: consonant-
   * vowel syllables, all two-syllable words first, then three; words already in the vocabulary are
   * skipped. Written in byte-level BPE's alphabet, where letters stand for themselves and {@code Ġ}
   * for the space.
   */
  private static void addWords(List<String> tokens, int size) {
    String consonants = "bcdfghjklmnprstvwz";
    String vowels = "aeiou";
    List<String> syllables = new ArrayList<>();
    for (char c : consonants.toCharArray()) {
      for (char v : vowels.toCharArray()) {
        syllables.add("" + c + v);
      }
    }
    Set<String> taken = new HashSet<>(tokens);
    int n = syllables.size();
    for (long i = 0; tokens.size() < size; i++) {
      long twoSyllable = (long) n * n;
      StringBuilder word = new StringBuilder("\u0120");
      if (i < twoSyllable) {
        word.append(syllables.get((int) (i / n))).append(syllables.get((int) (i % n)));
      } else {
        long j = i - twoSyllable;
        word.append(syllables.get((int) (j / n / n))).append(syllables.get((int) (j / n % n)))
            .append(syllables.get((int) (j % n)));
      }
      if (taken.add(word.toString())) {
        tokens.add(word.toString());
      }
    }
  }

  static String corpus() {
    try (InputStream in = TinyVocabulary.class.getResourceAsStream("corpus.txt")) {
      if (in == null) {
        throw new IllegalStateException("resource corpus.txt is missing from the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes the {@code tokenizer.*} keys llama.cpp reads, {@code chatTemplate} as {@code tokenizer.chat_template}. */
  void putMetadata(GgufMetadata.Builder b, String chatTemplate) {
    if (kind == VocabularyKind.SPM) {
      b.putString("tokenizer.ggml.model", "llama");
      b.put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens));
      b.put("tokenizer.ggml.scores", GgufValue.float32Array(scores));
      b.put("tokenizer.ggml.token_type", GgufValue.int32Array(types));
      b.putUInt32("tokenizer.ggml.bos_token_id", id("<s>"));
      // EOS is ChatML's end of turn, as in ChatML fine-tunes of SentencePiece models; with </s>
      // llama.cpp warns that EOS is not an end-of-generation token it knows by text.
      b.putUInt32("tokenizer.ggml.eos_token_id", id("<|im_end|>"));
      b.putUInt32("tokenizer.ggml.eot_token_id", id("<|im_end|>"));
      b.putUInt32("tokenizer.ggml.unknown_token_id", id("<unk>"));
      b.putBool("tokenizer.ggml.add_bos_token", true);
      b.putBool("tokenizer.ggml.add_eos_token", false);
      b.putBool("tokenizer.ggml.add_space_prefix", true);
    } else {
      b.putString("tokenizer.ggml.model", "gpt2");
      b.putString("tokenizer.ggml.pre", "gpt-2");
      b.put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens));
      b.put("tokenizer.ggml.token_type", GgufValue.int32Array(types));
      b.put("tokenizer.ggml.merges", GgufValue.stringArray(merges));
      b.putUInt32("tokenizer.ggml.bos_token_id", id("<|endoftext|>"));
      b.putUInt32("tokenizer.ggml.eos_token_id", id("<|im_end|>"));
      b.putUInt32("tokenizer.ggml.eot_token_id", id("<|im_end|>"));
      b.putUInt32("tokenizer.ggml.padding_token_id", id("<|endoftext|>"));
      b.putBool("tokenizer.ggml.add_bos_token", false);
      b.putBool("tokenizer.ggml.add_eos_token", false);
    }
    b.putString("tokenizer.chat_template", chatTemplate);
  }
}
