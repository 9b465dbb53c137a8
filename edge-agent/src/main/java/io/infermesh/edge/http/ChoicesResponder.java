package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.TokenLogprob;
import io.infermesh.edge.serve.Usage;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The completion endpoints' general path, for requests that the single-choice fast path in {@link
 * CompletionsEndpoint} does not shape: {@code n > 1} choices, {@code logprobs}, completions'
 * {@code echo}.
 *
 * <p>Choice 0 is asked for with all {@code n} ({@link CompletionRequest#withChoices}). When the core
 * answers it, the core generates every choice in that one call, from one prefill of the prompt, with
 * seed {@code seed + i} for choice {@code i} ({@link CompletionStream#choice}). Otherwise (the edge's
 * engine, a cache replay, a core that failed over to the edge) the later choices are generated one
 * after another, each a request of its own to the {@link CompletionService} (admitted, routed,
 * rate-limited and counted like any request), with request id {@code <id>-c<i>} and, when the
 * request is seeded, seed {@code seed + i} (choice 0 keeps the caller's seed, so {@code n: 1} and
 * choice 0 of {@code n: 3} agree on either tier). Choice 0's route is kept for them: an {@code auto}
 * request answered on the edge stays there ({@code edge}), where they reuse the prompt llama.cpp
 * already holds in its slot (its prompt cache).
 *
 * <p>Whole answers are read to their end before anything is written, so a failing choice is an
 * HTTP error; streamed choices follow each other in one SSE stream, each chunk naming its {@code
 * index} (choice 0's deltas as they come, then each later choice's, as OpenAI allows), and a
 * failure after the first bytes is an error event. Stateless; thread-safe.
 */
final class ChoicesResponder {
  private static final Logger log = LoggerFactory.getLogger(ChoicesResponder.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CompletionService service;

  ChoicesResponder(CompletionService service) {
    this.service = requireNonNull(service, "service");
  }

  /** What a whole choice produced. */
  private record Choice(String text, List<TokenLogprob> logprobs, StreamEvent.Done done) {}

  /**
   * Answers {@code parsed} for {@code tenant}.
   *
   * @param withHints adds the request headers' routing hints to each choice's request
   */
  void respond(Context ctx, OpenAiRequests.Parsed parsed, Operation operation, Tenant tenant,
      UnaryOperator<CompletionRequest> withHints, String responseId, long created) throws InterruptedException {
    CompletionRequest first = withHints.apply(parsed.request());
    String baseId = first.requestId().isEmpty() ? "req-" + responseId : first.requestId();
    first = choice(first, baseId, 0, first.model());
    CompletionStream stream = service.open(parsed.n() > 1 ? first.withChoices(parsed.n()) : first, tenant);
    try {
      respond(ctx, parsed, operation, tenant, first, stream, baseId, responseId, created);
    } finally {
      stream.close();
      for (int i = 1; i < parsed.n(); i++) {
        stream.choice(i).ifPresent(CompletionStream::close); // a no-op for those read to their end
      }
    }
  }

  private void respond(Context ctx, OpenAiRequests.Parsed parsed, Operation operation, Tenant tenant,
      CompletionRequest first, CompletionStream stream, String baseId, String responseId, long created)
      throws InterruptedException {
    Served served = stream.served();
    ctx.attribute(CompletionsEndpoint.REQUEST_ID_ATTRIBUTE, served.requestId());
    ctx.header("x-request-id", served.requestId());
    ctx.header("x-infermesh-route", served.route().route().wireName());
    ctx.header("x-infermesh-reason", served.route().reason());
    InfermeshHeaders.modelVersion(ctx, served);
    String laterModel = laterModel(first.model(), served);
    String echo = parsed.echo() && operation == Operation.TEXT_COMPLETION ? first.prompt() : "";
    if (parsed.stream()) {
      streamChoices(ctx, parsed, operation, tenant, first, stream, baseId, laterModel, echo, responseId, created);
      return;
    }
    List<Choice> choices = new ArrayList<>(parsed.n());
    String model;
    try {
      choices.add(readWhole(stream));
      model = stream.served().model();
    } finally {
      closeUnlessItCarriesTheOthers(stream);
    }
    for (int i = 1; i < parsed.n(); i++) {
      try (CompletionStream next = later(stream, first, baseId, i, laterModel, tenant)) {
        choices.add(readWhole(next));
      }
    }
    ObjectNode root = OpenAiResponses.header(operation == Operation.CHAT ? "chat.completion" : "text_completion",
        responseId, created, model);
    ArrayNode array = root.putArray("choices");
    int promptTokens = choices.get(0).done().usage().promptTokens();
    int cached = choices.get(0).done().usage().cachedTokens();
    int completionTokens = 0;
    for (int i = 0; i < choices.size(); i++) {
      Choice c = choices.get(i);
      completionTokens += c.done().usage().completionTokens();
      ObjectNode choice = array.addObject();
      choice.put("index", i);
      if (operation == Operation.CHAT) {
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", c.text());
        message.putNull("refusal");
      } else {
        choice.put("text", echo + c.text());
      }
      choice.set("logprobs", logprobs(operation, c.logprobs(), parsed.request().sampling(), 0));
      choice.put("finish_reason", c.done().finishReason().wireName());
    }
    root.set("usage", OpenAiResponses.usage(new Usage(promptTokens, completionTokens, cached)));
    byte[] body = root.toString().getBytes(StandardCharsets.UTF_8);
    ctx.status(200);
    ctx.contentType("application/json");
    ctx.res().setContentLength(body.length);
    try (OutputStream out = ctx.res().getOutputStream()) {
      out.write(body);
    } catch (IOException e) {
      log.debug("request {}: client went away before the answer ({})", baseId, e.toString());
    }
  }

  private void streamChoices(Context ctx, OpenAiRequests.Parsed parsed, Operation operation, Tenant tenant,
      CompletionRequest first, CompletionStream firstStream, String baseId, String laterModel, String echo,
      String responseId, long created) throws InterruptedException {
    StreamEvent event = firstStream.next();
    if (event instanceof StreamEvent.Failed failed) {
      firstStream.close();
      throw failed.error();
    }
    String model = firstStream.served().model();
    ctx.status(200);
    ctx.contentType("text/event-stream; charset=utf-8");
    ctx.header("Cache-Control", "no-cache");
    ctx.header("X-Accel-Buffering", "no");
    SamplingRequest sampling = parsed.request().sampling();
    String object = operation == Operation.CHAT ? "chat.completion.chunk" : "text_completion";
    int promptTokens = 0;
    int cached = 0;
    int completionTokens = 0;
    try (OutputStream out = ctx.res().getOutputStream()) {
      for (int i = 0; i < parsed.n(); i++) {
        CompletionStream stream;
        try {
          stream = i == 0 ? firstStream : later(firstStream, first, baseId, i, laterModel, tenant);
        } catch (EdgeException e) {
          // a later choice refused before its first event: the stream has begun, so an error event
          out.write(OpenAiResponses.errorChunk(HttpErrors.body(e)));
          return;
        }
        try {
          if (i > 0) {
            event = stream.next();
          }
          if (operation == Operation.CHAT) {
            ObjectNode role = chunk(object, responseId, created, model, parsed.includeUsage(), i);
            ((ObjectNode) role.get("choices").get(0).get("delta")).put("role", "assistant").put("content", "");
            write(out, role);
          } else if (!echo.isEmpty()) {
            ObjectNode echoed = chunk(object, responseId, created, model, parsed.includeUsage(), i);
            ((ObjectNode) echoed.get("choices").get(0)).put("text", echo);
            write(out, echoed);
          }
          int textOffset = echo.length();
          while (event instanceof StreamEvent.Delta delta) {
            ObjectNode c = chunk(object, responseId, created, model, parsed.includeUsage(), i);
            ObjectNode choice = (ObjectNode) c.get("choices").get(0);
            if (operation == Operation.CHAT) {
              ((ObjectNode) choice.get("delta")).put("content", delta.text());
            } else {
              choice.put("text", delta.text());
            }
            if (!delta.logprobs().isEmpty()) {
              choice.set("logprobs", logprobs(operation, delta.logprobs(), sampling, textOffset));
            }
            textOffset += delta.text().length();
            write(out, c);
            out.flush();
            event = stream.next();
          }
          if (event instanceof StreamEvent.Failed failed) {
            out.write(OpenAiResponses.errorChunk(HttpErrors.body(failed.error())));
            return;
          }
          StreamEvent.Done done = (StreamEvent.Done) event;
          if (i == 0) {
            promptTokens = done.usage().promptTokens();
            cached = done.usage().cachedTokens();
          }
          completionTokens += done.usage().completionTokens();
          ObjectNode end = chunk(object, responseId, created, model, parsed.includeUsage(), i);
          ((ObjectNode) end.get("choices").get(0)).put("finish_reason", done.finishReason().wireName());
          write(out, end);
        } finally {
          if (i > 0) {
            stream.close();
          } else {
            closeUnlessItCarriesTheOthers(stream);
          }
        }
      }
      if (parsed.includeUsage()) {
        ObjectNode usageChunk = OpenAiResponses.header(object, responseId, created, model);
        usageChunk.putArray("choices");
        usageChunk.set("usage", OpenAiResponses.usage(new Usage(promptTokens, completionTokens, cached)));
        write(out, usageChunk);
      }
      out.write(OpenAiResponses.DONE);
    } catch (IOException e) {
      log.debug("request {}: client went away mid-stream ({})", baseId, e.toString());
    }
  }

  /**
   * Closes choice 0's stream unless the other choices come from the same call (the core answers all
   * {@code n} at once): then it stays open until they are read, so the request ends — its token
   * quota settled with every choice's tokens, its audit record written — after the last of them.
   */
  private static void closeUnlessItCarriesTheOthers(CompletionStream first) {
    if (first.choice(1).isEmpty()) {
      first.close();
    }
  }

  /** Choice {@code i}: from choice 0's call when its server generates all of them, else a request of its own. */
  private CompletionStream later(CompletionStream first, CompletionRequest r, String baseId, int i, String model,
      Tenant tenant) {
    return first.choice(i).orElseGet(() -> service.open(choice(r, baseId, i, model), tenant));
  }

  /** Choice {@code i} of {@code r}: its own request id and seed, and the model later choices are asked of. */
  private static CompletionRequest choice(CompletionRequest r, String baseId, int i, String model) {
    if (i == 0) {
      return r;
    }
    String prefix = baseId.length() > 124 ? baseId.substring(0, 124) : baseId;
    SamplingRequest s = r.sampling();
    SamplingRequest sampling = s.seed() == null ? s : s.withSeed(s.seed() + i);
    return new CompletionRequest(prefix + "-c" + i, r.operation(), model, r.messages(), r.prompt(), sampling,
        r.hints(), r.timeout());
  }

  /** The model alias that keeps later choices on choice 0's tier, for a request that let the router choose. */
  private static String laterModel(String requested, Served served) {
    if (!requested.isEmpty() && !requested.equals("auto")) {
      return requested;
    }
    return served.route().route() == Route.CORE ? "core" : "edge";
  }

  private static Choice readWhole(CompletionStream stream) throws InterruptedException {
    StringBuilder text = new StringBuilder();
    List<TokenLogprob> logprobs = new ArrayList<>();
    StreamEvent event;
    while ((event = stream.next()) instanceof StreamEvent.Delta delta) {
      text.append(delta.text());
      logprobs.addAll(delta.logprobs());
    }
    if (event instanceof StreamEvent.Failed failed) {
      throw failed.error();
    }
    return new Choice(text.toString(), logprobs, (StreamEvent.Done) event);
  }

  /**
   * OpenAI's {@code logprobs} object of a choice: for chat {@code {content: [{token, logprob,
   * bytes, top_logprobs}], refusal}}, for completions the legacy {@code {tokens, token_logprobs,
   * top_logprobs, text_offset}}; JSON null when none were asked for.
   */
  static com.fasterxml.jackson.databind.JsonNode logprobs(Operation operation, List<TokenLogprob> logprobs,
      SamplingRequest sampling, int textOffset) {
    if (!sampling.wantsLogprobs()) {
      return JSON.nullNode();
    }
    ObjectNode node = JSON.createObjectNode();
    if (operation == Operation.CHAT) {
      ArrayNode content = node.putArray("content");
      for (TokenLogprob lp : logprobs) {
        ObjectNode entry = entry(lp);
        ArrayNode top = entry.putArray("top_logprobs");
        lp.top().forEach(t -> top.add(entry(t)));
        content.add(entry);
      }
      node.putNull("refusal");
      return node;
    }
    ArrayNode tokens = node.putArray("tokens");
    ArrayNode tokenLogprobs = node.putArray("token_logprobs");
    ArrayNode top = node.putArray("top_logprobs");
    ArrayNode offsets = node.putArray("text_offset");
    int offset = textOffset;
    for (TokenLogprob lp : logprobs) {
      tokens.add(lp.token());
      tokenLogprobs.add(lp.logprob());
      ObjectNode alternatives = top.addObject();
      lp.top().forEach(t -> alternatives.put(t.token(), t.logprob()));
      offsets.add(offset);
      offset += lp.token().length();
    }
    return node;
  }

  private static ObjectNode entry(TokenLogprob lp) {
    ObjectNode e = JSON.createObjectNode();
    e.put("token", lp.token());
    e.put("logprob", lp.logprob());
    ArrayNode bytes = e.putArray("bytes");
    for (byte b : lp.bytes()) {
      bytes.add(b & 0xff);
    }
    return e;
  }

  private static ObjectNode chunk(String object, String id, long created, String model, boolean includeUsage,
      int index) {
    ObjectNode root = OpenAiResponses.header(object, id, created, model);
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", index);
    if (object.equals("chat.completion.chunk")) {
      choice.putObject("delta");
    } else {
      choice.put("text", "");
    }
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    if (includeUsage) {
      root.putNull("usage");
    }
    return root;
  }

  private static void write(OutputStream out, ObjectNode node) throws IOException {
    out.write(("data: " + node + "\n\n").getBytes(StandardCharsets.UTF_8));
  }
}
