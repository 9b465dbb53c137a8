package io.infermesh.edge.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.models.chat.ToolCalls;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the answer of a request with tools: the calls in the text ({@link ToolCalls} format,
 * which the tool grammar guarantees on either tier) become OpenAI {@code tool_calls} with fresh
 * {@code call_…} ids and {@code finish_reason: "tool_calls"}; text that is not calls (tool_choice
 * auto, or an answer cut off by max_tokens) goes out as content. Streamed, the calls follow the
 * role chunk as OpenAI's per-call deltas, which SDK stream accumulators assemble. Stateless.
 */
final class ToolCallAnswer {
  private static final Logger log = LoggerFactory.getLogger(ToolCallAnswer.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  private ToolCallAnswer() {}

  static void respond(Context ctx, CompletionStream stream, String text, StreamEvent.Done done,
      OpenAiResponses responses, boolean streaming) {
    Optional<List<ToolCalls.Call>> calls = done.finishReason() == FinishReason.STOP ? ToolCalls.parse(text)
        : Optional.empty();
    List<String> ids = new ArrayList<>();
    calls.ifPresent(c -> c.forEach(x -> ids.add(callId())));
    ctx.header("x-infermesh-route", stream.served().route().route().wireName());
    ctx.header("x-infermesh-reason", stream.served().route().reason());
    ctx.status(200);
    byte[] body;
    if (streaming) {
      ctx.contentType("text/event-stream; charset=utf-8");
      ctx.header("Cache-Control", "no-cache");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(responses.roleChunk());
      if (calls.isPresent()) {
        out.writeBytes(responses.toolCallChunks(calls.get(), ids));
        out.writeBytes(responses.finishChunks("tool_calls", done.usage()));
      } else {
        if (!text.isEmpty()) {
          out.writeBytes(responses.deltaChunk(text));
        }
        out.writeBytes(responses.finishChunks(done.finishReason(), done.usage()));
      }
      out.writeBytes(OpenAiResponses.DONE);
      body = out.toByteArray();
    } else {
      ctx.contentType("application/json");
      body = (calls.isPresent() ? responses.completeWithCalls(calls.get(), ids, done.usage())
          : responses.complete(text, done.finishReason(), done.usage())).toString().getBytes(StandardCharsets.UTF_8);
      ctx.res().setContentLength(body.length);
    }
    try (OutputStream out = ctx.res().getOutputStream()) {
      out.write(body);
    } catch (IOException e) {
      log.debug("request {}: client went away before the answer ({})", stream.served().requestId(), e.toString());
    }
  }

  /** The whole (not streamed) answer to a request with tools: the calls parsed from {@code text}, or the text. */
  static ObjectNode whole(String text, StreamEvent.Done done, OpenAiResponses responses) {
    Optional<List<ToolCalls.Call>> calls = done.finishReason() == FinishReason.STOP ? ToolCalls.parse(text)
        : Optional.empty();
    if (calls.isEmpty()) {
      return responses.complete(text, done.finishReason(), done.usage());
    }
    List<String> ids = new ArrayList<>();
    calls.get().forEach(x -> ids.add(callId()));
    return responses.completeWithCalls(calls.get(), ids, done.usage());
  }

  /** {@code call_} and 24 random letters and digits, as OpenAI's ids look. */
  static String callId() {
    StringBuilder id = new StringBuilder("call_");
    for (int i = 0; i < 24; i++) {
      id.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return id.toString();
  }
}
