package io.infermesh.models.tokenizer;

import io.infermesh.models.gguf.GgufMetadata;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a vocabulary and its settings from GGUF metadata in the order and with the defaults of
 * llama.cpp's {@code llama_vocab::impl::load}: tokenizer model defaults, {@code
 * tokenizer.ggml.pre}, special token ids (out-of-range ids ignored with a warning), {@code
 * add_bos/eos/space_prefix}, then the tokens llama.cpp recognizes by their text (EOT, EOM, FIM,
 * end of generation), which it turns into control tokens.
 *
 * <p>Stateless and thread-safe; the loaded vocabulary is confined to the constructing thread
 * until handed to the immutable {@link Tokenizer}.
 */
final class VocabularyLoader {
  private static final Logger log = LoggerFactory.getLogger(VocabularyLoader.class);

  private static final List<String> EOT_TEXTS =
      List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>");
  private static final List<String> EOG_TEXTS =
      List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>");
  private static final List<String> EOM_TEXTS = List.of("<|eom_id|>");
  private static final List<String> FIM_PRE_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>");
  private static final List<String> FIM_SUF_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>");
  private static final List<String> FIM_MID_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>");
  private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<PAD>");
  private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>");
  private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");

  /** What the metadata describes. {@code bpe} is set for BPE vocabularies only. */
  record Loaded(
      Tokenizer.Kind kind,
      Vocabulary vocabulary,
      BpeModel bpe,
      String preTokenizer,
      SpecialTokens specialTokens,
      Set<Integer> endOfGeneration,
      boolean addBos,
      boolean addEos,
      boolean addSpacePrefix) {}

  private VocabularyLoader() {}

  /** @throws IllegalArgumentException naming the key that is missing, mistyped or unsupported */
  static Loaded load(GgufMetadata m) {
    String model = m.getString("tokenizer.ggml.model");
    List<String> texts = m.getStringArray("tokenizer.ggml.tokens");
    int n = texts.size();
    if (n == 0) {
      throw new IllegalArgumentException("key tokenizer.ggml.tokens is empty");
    }
    TokenType[] types = new TokenType[n];
    Arrays.fill(types, TokenType.NORMAL);
    if (m.contains("tokenizer.ggml.token_type")) {
      int[] ids = m.getIntArray("tokenizer.ggml.token_type");
      requireLength("tokenizer.ggml.token_type", ids.length, n);
      for (int i = 0; i < n; i++) types[i] = TokenType.fromId(ids[i]);
    }
    float[] scores = new float[n];
    if (m.contains("tokenizer.ggml.scores")) {
      scores = m.getFloatArray("tokenizer.ggml.scores");
      requireLength("tokenizer.ggml.scores", scores.length, n);
    }
    Vocabulary vocab = new Vocabulary(texts, types, scores);

    Tokenizer.Kind kind;
    int bos;
    int eos;
    int unk;
    boolean addBos;
    boolean addSpacePrefix;
    String pre = "";
    BpeModel bpe = null;
    switch (model) {
      case "gpt2" -> {
        kind = Tokenizer.Kind.BPE;
        bos = 11; // llama.cpp's defaults for gpt2 vocabularies
        eos = 11;
        unk = -1;
        addSpacePrefix = false;
        pre = m.findString("tokenizer.ggml.pre").orElse("");
        PreTokenizerChoice choice = PreTokenizerChoice.of(pre);
        addBos = choice.addBos;
        if (choice.noBos) {
          bos = -1;
        }
        bpe = new BpeModel(vocab, m.getStringArray("tokenizer.ggml.merges"), choice.preTokenizer, choice.ignoreMerges);
      }
      case "llama" -> {
        kind = Tokenizer.Kind.SPM;
        bos = 1;
        eos = 2;
        unk = 0;
        addSpacePrefix = true;
        addBos = true;
      }
      default -> throw new IllegalArgumentException(
          "key tokenizer.ggml.model is '" + model + "'; supported: gpt2 (byte-level BPE), llama (SentencePiece)");
    }
    addSpacePrefix = m.findBoolean("tokenizer.ggml.add_space_prefix").orElse(addSpacePrefix);

    bos = specialId(m, vocab, "tokenizer.ggml.bos_token_id", bos);
    eos = specialId(m, vocab, "tokenizer.ggml.eos_token_id", eos);
    int eot = specialId(m, vocab, "tokenizer.ggml.eot_token_id", -1);
    int eom = specialId(m, vocab, "tokenizer.ggml.eom_token_id", -1);
    unk = specialId(m, vocab, "tokenizer.ggml.unknown_token_id", unk);
    int pad = specialId(m, vocab, "tokenizer.ggml.padding_token_id", -1);
    int fimPre = specialId(m, vocab, "tokenizer.ggml.fim_pre_token_id", specialId(m, vocab, "tokenizer.ggml.prefix_token_id", -1));
    int fimSuf = specialId(m, vocab, "tokenizer.ggml.fim_suf_token_id", specialId(m, vocab, "tokenizer.ggml.suffix_token_id", -1));
    int fimMid = specialId(m, vocab, "tokenizer.ggml.fim_mid_token_id", specialId(m, vocab, "tokenizer.ggml.middle_token_id", -1));
    int fimPad = specialId(m, vocab, "tokenizer.ggml.fim_pad_token_id", -1);
    int fimRep = specialId(m, vocab, "tokenizer.ggml.fim_rep_token_id", -1);
    int fimSep = specialId(m, vocab, "tokenizer.ggml.fim_sep_token_id", -1);
    addBos = m.findBoolean("tokenizer.ggml.add_bos_token").orElse(addBos);
    boolean addEos = m.findBoolean("tokenizer.ggml.add_eos_token").orElse(false);

    // Tokens llama.cpp recognizes by text, making them control tokens.
    eot = eot >= 0 ? eot : detect(vocab, EOT_TEXTS);
    eom = eom >= 0 ? eom : detect(vocab, EOM_TEXTS);
    fimPre = fimPre >= 0 ? fimPre : detect(vocab, FIM_PRE_TEXTS);
    fimSuf = fimSuf >= 0 ? fimSuf : detect(vocab, FIM_SUF_TEXTS);
    fimMid = fimMid >= 0 ? fimMid : detect(vocab, FIM_MID_TEXTS);
    fimPad = fimPad >= 0 ? fimPad : detect(vocab, FIM_PAD_TEXTS);
    fimRep = fimRep >= 0 ? fimRep : detect(vocab, FIM_REP_TEXTS);
    fimSep = fimSep >= 0 ? fimSep : detect(vocab, FIM_SEP_TEXTS);

    Set<Integer> eog = new TreeSet<>();
    for (int id : new int[] {fimPad, fimRep, fimSep}) {
      if (id >= 0) eog.add(id);
    }
    for (String t : EOG_TEXTS) {
      int id = vocab.id(t);
      if (id >= 0) {
        eog.add(id);
        vocab.setType(id, TokenType.CONTROL);
      }
    }
    for (int id : new int[] {eos, eot, eom}) {
      if (id >= 0) eog.add(id);
    }
    if (addBos && bos < 0) {
      throw new IllegalArgumentException("key tokenizer.ggml.add_bos_token is true but the vocabulary has no BOS token");
    }
    if (addEos && eos < 0) {
      throw new IllegalArgumentException("key tokenizer.ggml.add_eos_token is true but the vocabulary has no EOS token");
    }
    SpecialTokens specials = new SpecialTokens(opt(vocab, bos), opt(vocab, eos), opt(vocab, eot), opt(vocab, unk), opt(vocab, pad));
    return new Loaded(kind, vocab, bpe, pre, specials, Collections.unmodifiableSet(eog), addBos, addEos, addSpacePrefix);
  }

  private static void requireLength(String key, int length, int tokens) {
    if (length != tokens) {
      throw new IllegalArgumentException(
          "key " + key + " has " + length + " entries, but tokenizer.ggml.tokens has " + tokens);
    }
  }

  /** A special id from {@code key}; out-of-range ids are ignored with a warning, as llama.cpp does. */
  private static int specialId(GgufMetadata m, Vocabulary vocab, String key, int fallback) {
    OptionalInt v = m.findInt(key);
    if (v.isEmpty()) {
      return fallback;
    }
    if (!vocab.contains(v.getAsInt())) {
      log.warn("bad special token: {} = {} is outside the vocabulary of {}; using {}", key, v.getAsInt(), vocab.size(), fallback);
      return fallback;
    }
    return v.getAsInt();
  }

  /**
   * The lowest id among tokens with these texts, made a control token; -1 if none. (llama.cpp
   * takes the first it meets in hash order; vocabularies hold at most one of each list.)
   */
  private static int detect(Vocabulary vocab, List<String> candidates) {
    int found = -1;
    for (String t : candidates) {
      int id = vocab.id(t);
      if (id >= 0 && (found < 0 || id < found)) {
        found = id;
      }
    }
    if (found >= 0) {
      vocab.setType(found, TokenType.CONTROL);
    }
    return found;
  }

  private static OptionalInt opt(Vocabulary vocab, int id) {
    return id >= 0 && vocab.contains(id) ? OptionalInt.of(id) : OptionalInt.empty();
  }

  /** What {@code tokenizer.ggml.pre} selects, as in llama.cpp's {@code llama_vocab::impl::load}. */
  private record PreTokenizerChoice(PreTokenizer preTokenizer, boolean ignoreMerges, boolean addBos, boolean noBos) {
    static PreTokenizerChoice of(String pre) {
      return switch (pre) {
        case "gpt-2", "phi-2", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "gigachat", "mpt", "olmo", "jais" ->
            new PreTokenizerChoice(Gpt2PreTokenizer.INSTANCE, false, false, false);
        case "llama3", "llama-v3", "llama-bpe", "falcon3" ->
            new PreTokenizerChoice(Llama3PreTokenizer.LLAMA3, true, true, false);
        case "dbrx", "smaug-bpe" -> new PreTokenizerChoice(Llama3PreTokenizer.LLAMA3, false, false, false);
        case "chatglm-bpe" -> new PreTokenizerChoice(Llama3PreTokenizer.LLAMA3, false, false, true);
        case "qwen2", "stablelm2", "deepseek-r1-qwen", "megrez" ->
            new PreTokenizerChoice(Llama3PreTokenizer.QWEN2, false, false, false);
        case "" -> throw new IllegalArgumentException(
            "key tokenizer.ggml.pre missing: llama.cpp would fall back to its 'default' pre-tokenizer, which is not supported"
                + "; supported: gpt-2, llama3, qwen2 and their aliases");
        default -> throw new IllegalArgumentException(
            "key tokenizer.ggml.pre is '" + pre + "', which is not supported; supported: gpt-2, llama3, qwen2 and their aliases");
      };
    }
  }
}
