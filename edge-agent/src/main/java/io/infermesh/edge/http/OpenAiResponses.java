package io.infermesh.edge.http;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.Usage;
import io.infermesh.models.chat.ToolCalls;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI response shapes: the whole {@code chat.completion} / {@code text_completion} object, and
 * the {@code data: …} events of a stream. Stream chunks are assembled from a fixed prefix and
 * suffix around the escaped delta, so a token costs one string escape, not a JSON tree. One
 * instance per response; confined to its thread.
 */
final class OpenAiResponses {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  private final Operation operation;
  private final String id;
  private final long created;
  private final String model;
  private final boolean includeUsage;
  private final String deltaPrefix;
  private final String deltaSuffix;

  OpenAiResponses(Operation operation, String id, long created, String model, boolean includeUsage) {
    this.operation = operation;
    this.id = id;
    this.created = created;
    this.model = model;
    this.includeUsage = includeUsage;
    String head = "data: {\"id\":" + quote(id) + ",\"object\":\"" + chunkObject() + "\",\"created\":" + created
        + ",\"model\":" + quote(model) + ",\"system_fingerprint\":null,\"choices\":[{\"index\":0,";
    String usage = includeUsage ? ",\"usage\":null" : "";
    if (operation == Operation.CHAT) {
      this.deltaPrefix = head + "\"delta\":{\"content\":";
      this.deltaSuffix = "},\"logprobs\":null,\"finish_reason\":null}]" + usage + "}\n\n";
    } else {
      this.deltaPrefix = head + "\"text\":";
      this.deltaSuffix = ",\"logprobs\":null,\"finish_reason\":null}]" + usage + "}\n\n";
    }
  }

  private String chunkObject() {
    return operation == Operation.CHAT ? "chat.completion.chunk" : "text_completion";
  }

  /** The whole non-streaming response. */
  ObjectNode complete(String text, FinishReason finish, Usage usage) {
    ObjectNode root = header(operation == Operation.CHAT ? "chat.completion" : "text_completion");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    if (operation == Operation.CHAT) {
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", text);
      message.putNull("refusal");
    } else {
      choice.put("text", text);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finish.wireName());
    root.set("usage", usage(usage));
    return root;
  }

  /** The first event of a chat stream: the assistant role with empty content, as OpenAI sends it. */
  byte[] roleChunk() {
    ObjectNode root = header(chunkObject());
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("delta").put("role", "assistant").put("content", "");
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    if (includeUsage) {
      root.putNull("usage");
    }
    return event(root);
  }

  /** One text delta as a stream event. */
  byte[] deltaChunk(String text) {
    StringBuilder out = new StringBuilder(deltaPrefix.length() + deltaSuffix.length() + text.length() + 8);
    out.append(deltaPrefix).append('"');
    JsonStringEncoder.getInstance().quoteAsString(text, out);
    out.append('"').append(deltaSuffix);
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The whole chat response whose message holds {@code calls} (ids from {@code ids}). */
  ObjectNode completeWithCalls(List<ToolCalls.Call> calls, List<String> ids, Usage usage) {
    ObjectNode root = header("chat.completion");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.putNull("content");
    message.putNull("refusal");
    ArrayNode out = message.putArray("tool_calls");
    for (int i = 0; i < calls.size(); i++) {
      ObjectNode c = out.addObject();
      c.put("id", ids.get(i));
      c.put("type", "function");
      c.putObject("function").put("name", calls.get(i).name()).put("arguments", calls.get(i).arguments());
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", "tool_calls");
    root.set("usage", usage(usage));
    return root;
  }

  /**
   * The stream events of {@code calls}, as OpenAI sends them: per call, a delta that opens it
   * (index, id, type, name, empty arguments), then one with its arguments.
   */
  byte[] toolCallChunks(List<ToolCalls.Call> calls, List<String> ids) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < calls.size(); i++) {
      ObjectNode open = callDelta(i);
      open.put("id", ids.get(i));
      open.put("type", "function");
      open.putObject("function").put("name", calls.get(i).name()).put("arguments", "");
      out.append("data: ").append(callChunk(open)).append("\n\n");
      ObjectNode args = callDelta(i);
      args.putObject("function").put("arguments", calls.get(i).arguments());
      out.append("data: ").append(callChunk(args)).append("\n\n");
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static ObjectNode callDelta(int index) {
    ObjectNode call = JSON.createObjectNode();
    call.put("index", index);
    return call;
  }

  private ObjectNode callChunk(ObjectNode call) {
    ObjectNode root = header(chunkObject());
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("delta").putArray("tool_calls").add(call);
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    if (includeUsage) {
      root.putNull("usage");
    }
    return root;
  }

  /** The closing event(s): the finish reason, then the usage when asked for. */
  byte[] finishChunks(FinishReason finish, Usage usage) {
    return finishChunks(finish.wireName(), usage);
  }

  /** The closing event(s) with the finish reason as OpenAI spells it ({@code tool_calls} too). */
  byte[] finishChunks(String finish, Usage usage) {
    ObjectNode root = header(chunkObject());
    ArrayNode choices = root.putArray("choices");
    ObjectNode choice = choices.addObject();
    choice.put("index", 0);
    if (operation == Operation.CHAT) {
      choice.putObject("delta");
    } else {
      choice.put("text", "");
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finish);
    if (!includeUsage) {
      return event(root);
    }
    root.putNull("usage");
    ObjectNode usageChunk = header(chunkObject());
    usageChunk.putArray("choices");
    usageChunk.set("usage", usage(usage));
    byte[] a = event(root);
    byte[] b = event(usageChunk);
    byte[] both = new byte[a.length + b.length];
    System.arraycopy(a, 0, both, 0, a.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  /** A chunk with no choices, for the infermesh extension to be added to ({@link #extensionChunk}). */
  ObjectNode emptyChunk() {
    ObjectNode root = header(chunkObject());
    root.putArray("choices");
    return root;
  }

  /** {@code chunk} as a stream event. */
  static byte[] extensionChunk(ObjectNode chunk) {
    return event(chunk);
  }

  /** An error inside a stream that already started. */
  static byte[] errorChunk(ObjectNode error) {
    return event(error);
  }

  private ObjectNode header(String object) {
    return header(object, id, created, model);
  }

  /** The fields every completion object and chunk starts with. */
  static ObjectNode header(String object, String id, long created, String model) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", id);
    root.put("object", object);
    root.put("created", created);
    root.put("model", model);
    root.putNull("system_fingerprint");
    return root;
  }

  /** OpenAI's {@code usage} object; {@code prompt_tokens_details} only where the engine reports its cache. */
  static ObjectNode usage(Usage usage) {
    ObjectNode node = JSON.createObjectNode();
    node.put("prompt_tokens", usage.promptTokens());
    node.put("completion_tokens", usage.completionTokens());
    node.put("total_tokens", usage.totalTokens());
    if (usage.cachedTokens() != Usage.CACHED_UNREPORTED) {
      node.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedTokens());
    }
    return node;
  }

  private static byte[] event(ObjectNode node) {
    return ("data: " + node + "\n\n").getBytes(StandardCharsets.UTF_8);
  }

  private static String quote(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2).append('"');
    JsonStringEncoder.getInstance().quoteAsString(s, out);
    return out.append('"').toString();
  }
}
