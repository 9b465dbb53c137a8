package io.infermesh.core.server;

import com.google.protobuf.ByteString;
import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.api.v1.TopLogprob;
import io.infermesh.core.engine.TokenLogprobs;
import io.infermesh.models.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;

/** The sampler's log-probabilities as the wire reports them: token text and bytes for each id. Stateless. */
final class Logprobs {
  private Logprobs() {}

  static TokenLogprob toWire(TokenLogprobs lp, Tokenizer tokenizer) {
    byte[] bytes = piece(tokenizer, lp.token());
    TokenLogprob.Builder b = TokenLogprob.newBuilder()
        .setToken(new String(bytes, StandardCharsets.UTF_8))
        .setBytes(ByteString.copyFrom(bytes))
        .setLogprob(lp.logprob());
    for (int i = 0; i < lp.topTokens().length; i++) {
      byte[] alt = piece(tokenizer, lp.topTokens()[i]);
      b.addTopLogprobs(TopLogprob.newBuilder().setToken(new String(alt, StandardCharsets.UTF_8))
          .setBytes(ByteString.copyFrom(alt)).setLogprob(lp.topLogprobs()[i]));
    }
    return b.build();
  }

  /** The token's bytes; ids past the tokenizer's vocabulary (padding rows of the output matrix) have none. */
  private static byte[] piece(Tokenizer tokenizer, int token) {
    return token < tokenizer.vocabularySize() ? tokenizer.piece(token, false) : new byte[0];
  }
}
