package io.infermesh.core.upstream;

import java.util.List;
import java.util.Objects;

/**
 * One generation to forward, already validated. Unset sampling fields (null) are left to the
 * upstream's defaults.
 *
 * @param requestId sent as {@code X-Request-Id}
 * @param chat the conversation ({@code /v1/chat/completions}), or null for a raw prompt
 * @param prompt the raw prompt ({@code /v1/completions}) when {@code chat} is null
 * @param maxTokens most tokens to generate, or null
 * @param temperature softmax temperature, or null
 * @param topP nucleus mass, or null
 * @param topK top-k cut (an extension vLLM, TGI and llama.cpp accept), or null
 * @param seed sampler seed, or null
 * @param stop stop strings (may be empty)
 */
public record UpstreamRequest(String requestId, List<Message> chat, String prompt, Integer maxTokens,
    Float temperature, Float topP, Integer topK, Long seed, List<String> stop) {

  public UpstreamRequest {
    Objects.requireNonNull(requestId, "requestId");
    if ((chat == null) == (prompt == null)) {
      throw new IllegalArgumentException("set chat or prompt, not both");
    }
    chat = chat == null ? null : List.copyOf(chat);
    stop = List.copyOf(stop);
  }

  /** One chat turn; {@code name} may be empty. */
  public record Message(String role, String content, String name) {}
}
