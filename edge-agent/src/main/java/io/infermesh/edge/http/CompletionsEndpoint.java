package io.infermesh.edge.http;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Operation;
import io.infermesh.edge.serve.RequestValidator;
import io.infermesh.edge.serve.RoutingHints;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import io.infermesh.edge.serve.StructuredOutput;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}: checks the content type and
 * body size, parses, hands the request to the {@link CompletionService} and writes the answer —
 * whole, or as server-sent events. The request thread waits for the first event (for a whole
 * answer, for its end: {@link CompletionStream#readRest}, so it is not woken per token) before
 * committing a status, so failures in the queue still get a proper HTTP error; a client that goes
 * away cancels generation. Stateless apart from its collaborators; thread-safe.
 *
 * <p>SSE flushing: the writer writes the event it waited for plus every event that is already
 * waiting ({@link CompletionStream#poll()}), and flushes before it waits again, but never sooner
 * than {@code http.stream_flush_interval} after its previous flush: if that is too soon it sleeps
 * out the rest of the interval, takes what arrived meanwhile and then flushes. So a token after a
 * pause goes out at once, a fast stream goes out in batches at most one interval apart (one write
 * and one client wake-up per batch instead of per token), and nothing waits in the buffer longer
 * than the interval. The end goes out with the close of the body; a stream that is over within its
 * first batch is sent whole, with a Content-Length.
 */
final class CompletionsEndpoint {
  private static final Logger log = LoggerFactory.getLogger(CompletionsEndpoint.class);
  static final String REQUEST_ID_ATTRIBUTE = "infermesh.request-id";

  private final CompletionService service;
  private final long maxBodyBytes;
  private final long flushIntervalNanos;
  private final Clock clock;
  private final ChoicesResponder choices;

  CompletionsEndpoint(CompletionService service, long maxBodyBytes, Duration flushInterval, Clock clock) {
    this.service = service;
    this.maxBodyBytes = maxBodyBytes;
    this.flushIntervalNanos = flushInterval.toNanos();
    this.clock = clock;
    this.choices = new ChoicesResponder(service);
  }

  void chat(Context ctx) throws Exception {
    handle(ctx, Operation.CHAT);
  }

  void text(Context ctx) throws Exception {
    handle(ctx, Operation.TEXT_COMPLETION);
  }

  private void handle(Context ctx, Operation operation) throws Exception {
    String requestId;
    try {
      requestId = requestId(ctx);
    } catch (EdgeException e) {
      service.rejected(e.kind());
      throw e;
    }
    Tenant tenant = service.authenticate(ctx.header("Authorization"));
    OpenAiRequests.Parsed parsed;
    InfermeshHeaders.Parsed headers;
    try {
      headers = InfermeshHeaders.read(ctx.req());
      requireJson(ctx);
      byte[] body = readBody(ctx);
      parsed = operation == Operation.CHAT ? OpenAiRequests.chat(body, requestId) : OpenAiRequests.text(body, requestId);
    } catch (EdgeException e) {
      service.rejected(e.kind());
      throw e;
    } catch (HttpProblem e) {
      service.rejected(EdgeException.Kind.INVALID_ARGUMENT);
      throw e;
    }
    if (!parsed.user().isEmpty()) {
      log.debug("request {}: user {}", parsed.request().requestId(), parsed.user());
    }
    if (parsed.n() > 1 || parsed.echo() || parsed.request().sampling().wantsLogprobs()) {
      if (headers.hints().containsKey(RoutingHints.REANSWER)) {
        service.rejected(EdgeException.Kind.INVALID_ARGUMENT);
        throw EdgeException.invalid(InfermeshHeaders.PREFIX + RoutingHints.REANSWER, InfermeshHeaders.PREFIX
            + RoutingHints.REANSWER + ": a re-answer is one plain choice; not with n > 1, echo or logprobs");
      }
      choices.respond(ctx, parsed, operation, tenant, r -> withHeaderHints(r, headers), responseId(operation),
          clock.instant().getEpochSecond());
      return;
    }
    try (CompletionStream stream = service.open(withHeaderHints(parsed.request(), headers), tenant)) {
      Served served = stream.served();
      ctx.attribute(REQUEST_ID_ATTRIBUTE, served.requestId());
      ctx.header("x-request-id", served.requestId());
      ctx.header("x-infermesh-route", served.route().route().wireName());
      ctx.header("x-infermesh-reason", served.route().reason());
      InfermeshHeaders.modelVersion(ctx, served);
      AnswersEndpoint.tell(ctx, served);
      // a whole answer is read in one go (the thread wakes once, at its end, not per token)
      // tool calls are parsed from the whole answer, then sent as OpenAI's tool_calls (streamed too)
      boolean tools = parsed.request().structured().format() == StructuredOutput.Format.TOOL_CALLS;
      StringBuilder whole = parsed.stream() && !tools ? null : new StringBuilder();
      StreamEvent first = whole == null ? stream.next() : stream.readRest(whole);
      if (first instanceof StreamEvent.Failed failed) {
        throw failed.error();
      }
      // the core names its model in its first chunk: read who served it after that, not before
      OpenAiResponses responses = new OpenAiResponses(operation, responseId(operation),
          clock.instant().getEpochSecond(), stream.served().model(), parsed.includeUsage());
      if (tools && first instanceof StreamEvent.Done done) {
        ToolCallAnswer.respond(ctx, stream, whole.toString(), done, responses, parsed.stream());
      } else if (parsed.stream()) {
        streamEvents(ctx, stream, first, responses, operation, flushIntervalNanos);
      } else {
        respondWhole(ctx, stream, whole, (StreamEvent.Done) first, responses);
      }
    }
  }

  /**
   * Routing hints sent as headers ({@link InfermeshHeaders}: {@code x-infermesh-require}, {@code
   * -privacy}, {@code -priority}, {@code -budget-ms}), checked strictly.
   */
  private static CompletionRequest withHeaderHints(CompletionRequest r, InfermeshHeaders.Parsed headers) {
    Map<String, String> hints = new HashMap<>(r.hints());
    hints.putAll(headers.hints());
    Optional<Duration> timeout = headers.budget().isPresent() ? headers.budget() : r.timeout();
    if (hints.equals(r.hints()) && timeout.equals(r.timeout())) {
      return r;
    }
    return r.withHints(hints, timeout);
  }

  private static void respondWhole(Context ctx, CompletionStream stream, CharSequence text, StreamEvent.Done done,
      OpenAiResponses responses) {
    // the core may have failed mid-answer and the edge finished it: say so
    ctx.header("x-infermesh-route", stream.served().route().route().wireName());
    ctx.header("x-infermesh-reason", stream.served().route().reason());
    InfermeshHeaders.modelVersion(ctx, stream.served());
    AnswersEndpoint.tell(ctx, stream.served());
    byte[] body = HttpErrors.utf8(AnswersEndpoint.tell(responses.complete(text.toString(), done.finishReason(),
        done.usage()), stream.served()));
    ctx.status(200);
    ctx.contentType("application/json");
    ctx.res().setContentLength(body.length);
    // Written and completed here, inside the handler, so that shutdown (which waits for handlers)
    // never cuts a response short.
    try (OutputStream out = ctx.res().getOutputStream()) {
      out.write(body);
    } catch (IOException e) {
      log.debug("request {}: client went away before the answer ({})", stream.served().requestId(), e.toString());
    }
  }

  private static void streamEvents(Context ctx, CompletionStream stream, StreamEvent first, OpenAiResponses responses,
      Operation operation, long flushIntervalNanos) throws InterruptedException {
    ctx.status(200);
    AnswersEndpoint.tell(ctx, stream.served()); // the answer may have turned degraded with its first event
    ctx.contentType("text/event-stream; charset=utf-8");
    ctx.header("Cache-Control", "no-cache");
    ctx.header("X-Accel-Buffering", "no");
    try (OutputStream out = ctx.res().getOutputStream()) { // closing completes the chunked body
      if (operation == Operation.CHAT) {
        out.write(responses.roleChunk());
      }
      StreamEvent event = first;
      var route = stream.served().route();
      long lastFlush = System.nanoTime() - flushIntervalNanos;
      while (true) {
        // this event and whatever else is ready, then one flush before waiting for more
        boolean ended = write(out, event, responses, stream) || writeReady(out, stream, responses);
        long early = lastFlush + flushIntervalNanos - System.nanoTime();
        if (!ended && early > 0) {
          stream.awaitEnd(early); // too soon after the last flush: let more arrive, unless it ends
          ended = writeReady(out, stream, responses);
        }
        if (!stream.served().route().equals(route)) {
          // headers are gone: tell the reader in an SSE comment that the edge finished the answer
          route = stream.served().route();
          out.write((": x-infermesh-route=" + route.route().wireName() + " x-infermesh-reason=" + route.reason()
              + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
        if (ended) {
          return; // closing the stream sends what is left with the last chunk, in one write
        }
        out.flush();
        lastFlush = System.nanoTime();
        event = stream.next();
      }
    } catch (IOException e) {
      log.debug("request {}: client went away mid-stream ({})", stream.served().requestId(), e.toString());
      stream.cancel();
    }
  }

  /** Writes every event that is ready now; returns whether the last one was the end. */
  private static boolean writeReady(OutputStream out, CompletionStream stream, OpenAiResponses responses)
      throws IOException {
    for (StreamEvent event; (event = stream.poll()) != null; ) {
      if (write(out, event, responses, stream)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Writes one event; returns whether it was the last. The end carries, in a last chunk with no
   * choices, what became of a re-answer asked for ({@code infermesh.reanswer}): the headers were gone
   * when the answer turned degraded.
   */
  private static boolean write(OutputStream out, StreamEvent event, OpenAiResponses responses,
      CompletionStream stream) throws IOException {
    if (event instanceof StreamEvent.Delta delta) {
      out.write(responses.deltaChunk(delta.text()));
      return false;
    }
    if (event instanceof StreamEvent.Done done) {
      out.write(responses.finishChunks(done.finishReason(), done.usage()));
      Served served = stream.served();
      if (served.deferral().isPresent()) {
        out.write(responses.extensionChunk(AnswersEndpoint.tell(responses.emptyChunk(), served)));
      }
      out.write(OpenAiResponses.DONE);
      return true;
    }
    EdgeException error = ((StreamEvent.Failed) event).error();
    out.write(OpenAiResponses.errorChunk(HttpErrors.body(error)));
    return true;
  }

  /** The caller's {@code x-request-id} (checked), or empty to have one made up. */
  static String requestId(Context ctx) {
    String id = ctx.header("x-request-id");
    if (id == null || id.isEmpty()) {
      return "";
    }
    RequestValidator.requestId("x-request-id", id);
    ctx.attribute(REQUEST_ID_ATTRIBUTE, id);
    ctx.header("x-request-id", id);
    return id;
  }

  static void requireJson(Context ctx) {
    String contentType = ctx.req().getContentType();
    if (contentType == null) {
      throw new HttpProblem(415, "Content-Type",
          "Content-Type: missing; send the request body as application/json");
    }
    String[] parts = contentType.toLowerCase(Locale.ROOT).split(";");
    if (!parts[0].strip().equals("application/json")) {
      throw new HttpProblem(415, "Content-Type",
          "Content-Type: must be application/json, got " + parts[0].strip());
    }
    for (int i = 1; i < parts.length; i++) {
      String param = parts[i].strip();
      if (param.startsWith("charset=") && !param.substring(8).replace("\"", "").equals("utf-8")) {
        throw new HttpProblem(415, "Content-Type", "Content-Type: the charset must be utf-8, got " + param.substring(8));
      }
    }
  }

  byte[] readBody(Context ctx) {
    return FrontDoor.readBody(ctx.req(), maxBodyBytes);
  }

  static String responseId(Operation operation) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    String suffix = Long.toString(random.nextLong() & Long.MAX_VALUE, 36) + Long.toString(random.nextLong() & Long.MAX_VALUE, 36);
    return (operation == Operation.CHAT ? "chatcmpl-" : "cmpl-") + suffix;
  }
}
