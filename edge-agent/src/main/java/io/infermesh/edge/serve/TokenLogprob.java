package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The log-probability of one generated token as OpenAI reports it ({@code logprobs.content[i]}),
 * with the most likely alternatives at its position.
 *
 * @param token the token's text
 * @param logprob its natural log-probability
 * @param bytes its raw bytes (a token may hold part of a UTF-8 character)
 * @param top the most likely tokens at this position, most likely first; their own {@code top} is empty
 */
public record TokenLogprob(String token, double logprob, byte[] bytes, List<TokenLogprob> top) {
  public TokenLogprob {
    requireNonNull(token, "token");
    bytes = requireNonNull(bytes, "bytes").clone();
    top = List.copyOf(top);
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }
}
