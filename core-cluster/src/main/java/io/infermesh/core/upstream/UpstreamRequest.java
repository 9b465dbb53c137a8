package io.infermesh.core.upstream;

import java.util.List;
import java.util.Objects;

/**
 * One generation to forward, already validated; built with {@link #prompt} or {@link #chat}. Unset
 * sampling fields (null) are left to the upstream's defaults.
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

  /** A raw prompt ({@code /v1/completions}); every sampling field unset until set. */
  public static Builder prompt(String requestId, String prompt) {
    return new Builder(requestId, null, Objects.requireNonNull(prompt, "prompt"));
  }

  /** A conversation ({@code /v1/chat/completions}); every sampling field unset until set. */
  public static Builder chat(String requestId, List<Message> chat) {
    return new Builder(requestId, Objects.requireNonNull(chat, "chat"), null);
  }

  /** Builds an {@link UpstreamRequest}; a null setting stays unset. Not thread-safe. */
  public static final class Builder {
    private final String requestId;
    private final List<Message> chat;
    private final String prompt;
    private Integer maxTokens;
    private Float temperature;
    private Float topP;
    private Integer topK;
    private Long seed;
    private List<String> stop = List.of();

    private Builder(String requestId, List<Message> chat, String prompt) {
      this.requestId = requestId;
      this.chat = chat;
      this.prompt = prompt;
    }

    public Builder maxTokens(Integer tokens) {
      this.maxTokens = tokens;
      return this;
    }

    public Builder temperature(Float t) {
      this.temperature = t;
      return this;
    }

    public Builder topP(Float p) {
      this.topP = p;
      return this;
    }

    public Builder topK(Integer k) {
      this.topK = k;
      return this;
    }

    public Builder seed(Long s) {
      this.seed = s;
      return this;
    }

    public Builder stop(List<String> strings) {
      this.stop = strings;
      return this;
    }

    public UpstreamRequest build() {
      return new UpstreamRequest(requestId, chat, prompt, maxTokens, temperature, topP, topK, seed, stop);
    }
  }

  /** One chat turn; {@code name} may be empty. */
  public record Message(String role, String content, String name) {}
}
