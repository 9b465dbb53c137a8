package io.infermesh.edge.cache;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.engine.ToolForm;
import java.text.Normalizer;
import java.util.List;

/**
 * What makes two requests the same for the response cache: the tenant (so one tenant never sees
 * another's answer), the model version, the normalized input and every sampling control.
 *
 * <p>Inputs are normalized to Unicode NFC, so visually identical text typed differently hits the
 * same entry; nothing else is changed (whitespace and case matter to a model). A chat and a raw
 * prompt never share an entry.
 *
 * @param tenant the tenant name
 * @param model the model name and version
 * @param input the canonical form of the chat or prompt
 * @param sampling the sampling controls
 * @param defaultMaxTokens whether the request left {@code max_tokens} to the server (then {@code
 *     sampling.maxTokens()} is a placeholder and does not distinguish requests)
 */
public record CacheKey(String tenant, String model, String input, SamplingParams sampling, boolean defaultMaxTokens) {
  public CacheKey {
    requireNonNull(tenant, "tenant");
    requireNonNull(model, "model");
    requireNonNull(input, "input");
    requireNonNull(sampling, "sampling");
  }

  /** The key of a chat request. */
  public static CacheKey chat(String tenant, String model, List<ChatMessage> messages, SamplingParams sampling,
      boolean defaultMaxTokens) {
    StringBuilder canonical = new StringBuilder("chat");
    for (ChatMessage m : messages) {
      // Unit separators cannot be confused with content: they are escaped below.
      canonical.append('\u001e').append(m.role().wireName())
          .append('\u001f').append(escape(normalize(m.name())))
          .append('\u001f').append(escape(normalize(m.content())));
      // the content holds the fallback form, all but the call ids a checkpoint's template may write
      m.toolForm().flatMap(ToolForm::turn).ifPresent(t -> {
        canonical.append('\u001f').append(escape(t.toolCallId()));
        t.toolCalls().forEach(c -> canonical.append('\u001f').append(escape(c.id())));
      });
    }
    return new CacheKey(tenant, model, canonical.toString(), sampling, defaultMaxTokens);
  }

  /** The key of a raw prompt request. */
  public static CacheKey prompt(String tenant, String model, String prompt, SamplingParams sampling,
      boolean defaultMaxTokens) {
    return new CacheKey(tenant, model, "prompt\u001e" + escape(normalize(prompt)), sampling, defaultMaxTokens);
  }

  /** Approximate bytes this key holds on the heap. */
  int weight() {
    int stops = sampling.stop().stream().mapToInt(String::length).sum();
    return 2 * (tenant.length() + model.length() + input.length() + stops) + 160;
  }

  private static String normalize(String text) {
    return Normalizer.normalize(text, Normalizer.Form.NFC);
  }

  private static String escape(String text) {
    if (text.indexOf('\u001e') < 0 && text.indexOf('\u001f') < 0 && text.indexOf('\\') < 0) {
      return text;
    }
    return text.replace("\\", "\\\\").replace("\u001e", "\\u001e").replace("\u001f", "\\u001f");
  }
}
