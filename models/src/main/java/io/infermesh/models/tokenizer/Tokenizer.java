package io.infermesh.models.tokenizer;

import static java.util.Objects.requireNonNull;

import io.infermesh.models.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;

/**
 * A tokenizer built from GGUF metadata that gives the same token ids as llama.cpp (the build
 * bundled with de.kherud:llama 4.2.0, b4916) for the vocabularies it supports:
 *
 * <ul>
 *   <li>{@code tokenizer.ggml.model = gpt2}: byte-level BPE with {@code tokenizer.ggml.merges},
 *       pre-tokenized per {@code tokenizer.ggml.pre}: {@code gpt-2} (and its aliases), {@code
 *       llama3} (and aliases), {@code qwen2} (and aliases);
 *   <li>{@code tokenizer.ggml.model = llama}: SentencePiece merging by {@code
 *       tokenizer.ggml.scores}, byte fallback to {@code <0xNN>} tokens, {@code ▁} for space and a
 *       leading space ({@code tokenizer.ggml.add_space_prefix}, default true).
 * </ul>
 *
 * Anything else fails at construction, naming the key and value, instead of tokenizing
 * differently from llama.cpp.
 *
 * <p>Special tokens (types CONTROL, USER_DEFINED, UNKNOWN) are cut out of the text first, like
 * llama.cpp; control tokens such as {@code <|im_start|>} only when asked ({@code parseSpecial}).
 * Decoding renders each token's bytes and assembles UTF-8 across tokens; {@link
 * #newStreamingDecoder} does so incrementally, emitting only whole characters.
 *
 * <p>Immutable and thread-safe.
 */
public final class Tokenizer {
  /** The two tokenizer models. */
  public enum Kind {
    /** {@code gpt2}: byte-level BPE. */
    BPE,
    /** {@code llama}: SentencePiece. */
    SPM
  }

  private final Kind kind;
  private final Vocabulary vocab;
  private final BpeModel bpe; // BPE only
  private final SpmModel spm; // SPM only
  private final SpecialTokenSplitter splitter;
  private final SpecialTokens specialTokens;
  private final Set<Integer> endOfGeneration;
  private final boolean addBos;
  private final boolean addEos;
  private final boolean addSpacePrefix;
  private final String preTokenizer;
  private final byte[][] pieces; // rendered bytes per token, special tokens as their text

  private Tokenizer(GgufMetadata m) {
    VocabularyLoader.Loaded loaded = VocabularyLoader.load(m);
    this.kind = loaded.kind();
    this.vocab = loaded.vocabulary();
    this.bpe = loaded.bpe();
    this.spm = kind == Kind.SPM ? new SpmModel(vocab) : null;
    this.preTokenizer = loaded.preTokenizer();
    this.specialTokens = loaded.specialTokens();
    this.endOfGeneration = loaded.endOfGeneration();
    this.addBos = loaded.addBos();
    this.addEos = loaded.addEos();
    this.addSpacePrefix = loaded.addSpacePrefix();
    this.splitter = new SpecialTokenSplitter(vocab);
    this.pieces = new byte[vocab.size()][];
    for (int id = 0; id < pieces.length; id++) {
      pieces[id] = render(id);
    }
  }

  /**
   * Builds the tokenizer a GGUF file's metadata describes.
   *
   * @throws IllegalArgumentException naming the key if the metadata is missing something, has
   *     the wrong types, or describes a tokenizer this class does not reproduce exactly
   */
  public static Tokenizer fromGguf(GgufMetadata metadata) {
    return new Tokenizer(requireNonNull(metadata, "metadata"));
  }

  /** llama.cpp's {@code token_to_piece} with {@code special = true}. */
  private byte[] render(int id) {
    TokenType type = vocab.type(id);
    String text = vocab.text(id);
    if (type == TokenType.CONTROL || type == TokenType.UNKNOWN || type == TokenType.USER_DEFINED) {
      return text.getBytes(StandardCharsets.UTF_8);
    }
    if (kind == Kind.SPM) {
      if (type == TokenType.NORMAL) {
        return text.replace("\u2581", " ").getBytes(StandardCharsets.UTF_8);
      }
      if (type == TokenType.BYTE) {
        return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
      }
      return new byte[0];
    }
    if (type == TokenType.NORMAL) {
      return ByteLevel.decode(text);
    }
    return new byte[0];
  }

  // ---- encode

  /**
   * Tokenizes plain text: no BOS or EOS is added and text that looks like a control token
   * ({@code <|im_start|>}) is tokenized as ordinary text. Same as {@code encode(text, false,
   * false)}.
   */
  public int[] encode(String text) {
    return encode(text, false, false);
  }

  /**
   * Tokenizes text exactly as llama.cpp's {@code llama_tokenize(vocab, text, add_special,
   * parse_special)}.
   *
   * @param addSpecial add BOS (and EOS) where the vocabulary asks for them ({@link #addsBos()})
   * @param parseSpecial recognize control tokens written in the text, e.g. {@code <|im_end|>}
   */
  public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
    requireNonNull(text, "text");
    text = withoutLoneSurrogates(text);
    TokenBuffer out = new TokenBuffer();
    if (addSpecial && addBos) {
      out.add(specialTokens.bos().getAsInt());
    }
    boolean previousWasSpecial = true; // SentencePiece: a space prefixes the first text
    for (SpecialTokenSplitter.Fragment f : splitter.split(text, parseSpecial)) {
      if (!f.isText()) {
        out.add(f.token());
        previousWasSpecial = true;
        continue;
      }
      String fragment = text.substring(f.start(), f.end());
      if (kind == Kind.SPM) {
        if (addSpacePrefix && previousWasSpecial) {
          fragment = " " + fragment;
        }
        spm.encode(fragment.replace(' ', '\u2581'), out);
      } else {
        bpe.encode(fragment, out);
      }
      previousWasSpecial = false;
    }
    if (addSpecial && addEos) {
      out.add(specialTokens.eos().getAsInt());
    }
    return out.toArray();
  }

  /** Java strings may hold unpaired surrogates; UTF-8 cannot. Encode them as '?', as String.getBytes does. */
  private static String withoutLoneSurrogates(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.isSurrogate(s.charAt(i))) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
      }
    }
    return s;
  }

  // ---- decode

  /**
   * The text of a token sequence, as llama.cpp's {@code llama_detokenize} without its space
   * clean-up: each token's bytes in order, control tokens omitted, UTF-8 assembled across tokens
   * (invalid sequences become U+FFFD), and for SentencePiece vocabularies the space the encoder
   * prefixed removed from the first token. {@code decode(encode(s)).equals(s)} for any text
   * {@code s} whose control-token-looking parts were not parsed.
   *
   * @throws IllegalArgumentException if an id is outside the vocabulary
   */
  public String decode(int... tokens) {
    return decode(tokens, false);
  }

  /**
   * {@link #decode(int...)}, rendering control and unknown tokens as their text when {@code
   * renderSpecial} is set.
   */
  public String decode(int[] tokens, boolean renderSpecial) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(tokens.length * 4);
    boolean stripSpace = addSpacePrefix;
    for (int token : tokens) {
      byte[] p = piece(token, renderSpecial);
      int skip = stripSpace && p.length > 0 && p[0] == ' ' ? 1 : 0;
      out.write(p, skip, p.length - skip);
      stripSpace = false;
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /**
   * The bytes one token renders as (llama.cpp's {@code token_to_piece}); a piece may be part of a
   * UTF-8 character. Control and unknown tokens render as nothing unless {@code renderSpecial}.
   *
   * @throws IllegalArgumentException if the id is outside the vocabulary
   */
  public byte[] piece(int token, boolean renderSpecial) {
    checkToken(token);
    TokenType type = vocab.type(token);
    if (!renderSpecial && (type == TokenType.CONTROL || type == TokenType.UNKNOWN)) {
      return new byte[0];
    }
    return pieces[token].clone();
  }

  /** A decoder for a stream of tokens; see {@link StreamingDecoder}. */
  public StreamingDecoder newStreamingDecoder(boolean renderSpecial) {
    return new StreamingDecoder(this, renderSpecial);
  }

  /** Appends a token's piece without copying; for {@link StreamingDecoder}. */
  void appendPiece(int token, boolean renderSpecial, ByteArrayOutputStream out) {
    checkToken(token);
    TokenType type = vocab.type(token);
    if (!renderSpecial && (type == TokenType.CONTROL || type == TokenType.UNKNOWN)) {
      return;
    }
    out.write(pieces[token], 0, pieces[token].length);
  }

  private void checkToken(int token) {
    if (!vocab.contains(token)) {
      throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (size " + vocab.size() + ")");
    }
  }

  // ---- vocabulary

  /** Byte-level BPE or SentencePiece. */
  public Kind kind() {
    return kind;
  }

  /** {@code tokenizer.ggml.pre} of a BPE vocabulary; empty for SentencePiece. */
  public String preTokenizer() {
    return preTokenizer;
  }

  /** Number of tokens; ids run from 0 to this minus one. */
  public int vocabularySize() {
    return vocab.size();
  }

  /** The token's text as stored (byte-level or {@code ▁}-escaped). */
  public String tokenText(int token) {
    checkToken(token);
    return vocab.text(token);
  }

  /** The token's type, after llama.cpp's overrides (e.g. {@code <|im_end|>} is CONTROL). */
  public TokenType tokenType(int token) {
    checkToken(token);
    return vocab.type(token);
  }

  /** The token's score (SentencePiece merge priority; 0 where the file has none). */
  public float tokenScore(int token) {
    checkToken(token);
    return vocab.score(token);
  }

  /** The id of the token whose stored text is exactly {@code text}. */
  public Optional<Integer> tokenId(String text) {
    int id = vocab.id(requireNonNull(text, "text"));
    return id < 0 ? Optional.empty() : Optional.of(id);
  }

  /** BOS, EOS, EOT, UNK and PAD ids, where the vocabulary has them. */
  public SpecialTokens specialTokens() {
    return specialTokens;
  }

  /** Whether {@code encode(text, true, ...)} starts with BOS. */
  public boolean addsBos() {
    return addBos;
  }

  /** Whether {@code encode(text, true, ...)} ends with EOS. */
  public boolean addsEos() {
    return addEos;
  }

  /** Whether generating this token ends generation (EOS, EOT, {@code <|im_end|>}, ...). */
  public boolean isEndOfGeneration(int token) {
    return endOfGeneration.contains(token);
  }

  /** The end-of-generation token ids, ascending. */
  public Set<Integer> endOfGenerationTokens() {
    return endOfGeneration;
  }

  @Override
  public String toString() {
    return "Tokenizer[" + kind + (preTokenizer.isEmpty() ? "" : " pre=" + preTokenizer) + ", " + vocab.size() + " tokens]";
  }
}
