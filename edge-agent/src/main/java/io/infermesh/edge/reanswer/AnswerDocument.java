package io.infermesh.edge.reanswer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.ServedBy;
import io.infermesh.api.v1.Usage;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Locale;

/**
 * The core's answer to a replayed request, as the client reads it: OpenAI's {@code chat.completion}
 * (or {@code text_completion} for a raw prompt) object, with the infermesh extension {@code
 * infermesh: {reanswer_id, request_id, route: "core", reason, served_by: {tier, node_id, region,
 * model, model_version}}}; or, when the core refused the request for good, OpenAI's error object.
 * Stateless; thread-safe.
 */
final class AnswerDocument {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AnswerDocument() {}

  /**
   * Reads {@code chunks} (choice 0; a replay asks for one) to the end and writes the answer.
   *
   * @throws io.grpc.StatusRuntimeException as the core's stream fails
   */
  static byte[] read(String reanswerId, GenerateRequest request, Iterator<GenerateChunk> chunks, long createdSeconds) {
    StringBuilder text = new StringBuilder();
    FinishReason finish = FinishReason.FINISH_REASON_UNSPECIFIED;
    Usage usage = Usage.getDefaultInstance();
    ServedBy servedBy = ServedBy.getDefaultInstance();
    while (chunks.hasNext()) {
      GenerateChunk c = chunks.next();
      if (c.getIndex() != 0) {
        continue;
      }
      text.append(c.getText());
      if (c.hasServedBy()) {
        servedBy = c.getServedBy();
      }
      if (c.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
        finish = c.getFinishReason();
        usage = c.getUsage();
      }
    }
    boolean chat = request.hasChat();
    ObjectNode root = JSON.createObjectNode();
    root.put("id", (chat ? "chatcmpl-" : "cmpl-") + reanswerId);
    root.put("object", chat ? "chat.completion" : "text_completion");
    root.put("created", createdSeconds);
    root.put("model", servedBy.getModel());
    root.putNull("system_fingerprint");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    if (chat) {
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", text.toString());
      message.putNull("refusal");
    } else {
      choice.put("text", text.toString());
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finish == FinishReason.FINISH_REASON_LENGTH ? "length" : "stop");
    ObjectNode u = root.putObject("usage");
    u.put("prompt_tokens", usage.getPromptTokens());
    u.put("completion_tokens", usage.getCompletionTokens());
    u.put("total_tokens", usage.getPromptTokens() + usage.getCompletionTokens());
    u.putObject("prompt_tokens_details").put("cached_tokens", usage.getCachedTokens());
    ObjectNode ext = extension(root, reanswerId, request);
    ext.put("route", "core");
    ext.put("reason", request.getEscalation().getReason());
    ObjectNode by = ext.putObject("served_by");
    by.put("tier", servedBy.getTier().name().replace("TIER_", "").toLowerCase(Locale.ROOT));
    by.put("node_id", servedBy.getNodeId());
    by.put("region", servedBy.getRegion());
    by.put("model", servedBy.getModel());
    by.put("model_version", servedBy.getModelVersion());
    return root.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** OpenAI's error object for a request the core refused with {@code status} (it will not change its mind). */
  static byte[] refused(String reanswerId, GenerateRequest request, Status status) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", "the core refused the re-answer: " + status.getCode() + ": "
        + String.valueOf(status.getDescription()));
    error.put("type", "core_refused");
    error.putNull("param");
    error.put("code", status.getCode().name().toLowerCase(Locale.ROOT));
    extension(root, reanswerId, request);
    return root.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static ObjectNode extension(ObjectNode root, String reanswerId, GenerateRequest request) {
    ObjectNode ext = root.putObject("infermesh");
    ext.put("reanswer_id", reanswerId);
    ext.put("request_id", request.getRequestId());
    return ext;
  }
}
