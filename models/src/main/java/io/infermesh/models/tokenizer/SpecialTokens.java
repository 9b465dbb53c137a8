package io.infermesh.models.tokenizer;

import static java.util.Objects.requireNonNull;

import java.util.OptionalInt;

/**
 * The ids of a vocabulary's special tokens, resolved as llama.cpp resolves them: from the {@code
 * tokenizer.ggml.*_token_id} keys, else the tokenizer model's defaults (SentencePiece: unk 0, bos
 * 1, eos 2), and for end-of-turn from well-known token texts ({@code <|im_end|>}, {@code
 * <|eot_id|>}, ...).
 *
 * @param bos beginning of sequence
 * @param eos end of sequence
 * @param eot end of turn (chat)
 * @param unk unknown
 * @param pad padding
 */
public record SpecialTokens(OptionalInt bos, OptionalInt eos, OptionalInt eot, OptionalInt unk, OptionalInt pad) {
  public SpecialTokens {
    requireNonNull(bos, "bos");
    requireNonNull(eos, "eos");
    requireNonNull(eot, "eot");
    requireNonNull(unk, "unk");
    requireNonNull(pad, "pad");
  }
}
