package io.infermesh.edge.upstream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Penalties;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.SamplingParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The JSON body of one forwarded generation: every sampling control the edge honours, in the
 * OpenAI field an OpenAI-compatible server reads ({@code top_k} is the extension llama-server, vLLM
 * and Ollama accept). Controls at their neutral value are left out, so a server that lacks an
 * extension still answers plain requests. Stateless.
 */
final class UpstreamBody {
  private static final ObjectMapper JSON = new ObjectMapper();

  private UpstreamBody() {}

  /** The body for {@code prompt}: its chat as {@code messages} when it has one, else its text as {@code prompt}. */
  static byte[] of(String model, Prompt prompt, SamplingParams s) {
    ObjectNode o = JSON.createObjectNode();
    o.put("model", model);
    if (prompt.chat().isEmpty()) {
      o.put("prompt", prompt.text());
    } else {
      ArrayNode messages = o.putArray("messages");
      for (ChatMessage m : prompt.chat()) {
        ObjectNode turn = messages.addObject().put("role", m.role().wireName()).put("content", m.content());
        if (!m.name().isEmpty()) {
          turn.put("name", m.name());
        }
      }
    }
    o.put("stream", true);
    o.putObject("stream_options").put("include_usage", true);
    o.put("max_tokens", s.maxTokens());
    o.put("temperature", s.temperature());
    o.put("top_p", s.topP());
    if (s.topK() > 0) {
      o.put("top_k", s.topK());
    }
    s.seed().ifPresent(seed -> o.put("seed", seed));
    if (!s.stop().isEmpty()) {
      ArrayNode stop = o.putArray("stop");
      s.stop().forEach(stop::add);
    }
    Penalties p = s.penalties();
    if (p.presence() != 0f) {
      o.put("presence_penalty", p.presence());
    }
    if (p.frequency() != 0f) {
      o.put("frequency_penalty", p.frequency());
    }
    if (!p.logitBias().isEmpty()) {
      ObjectNode bias = o.putObject("logit_bias");
      for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
        bias.put(String.valueOf(e.getKey()), e.getValue());
      }
    }
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a request body", e);
    }
  }
}
