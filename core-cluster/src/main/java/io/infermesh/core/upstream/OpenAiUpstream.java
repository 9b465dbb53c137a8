package io.infermesh.core.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.core.status.CoreException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible server reached over HTTP: streams {@code /v1/chat/completions} (chats) and
 * {@code /v1/completions} (raw prompts) with {@code stream: true}, parses the server-sent events,
 * and maps failures:
 *
 * <table>
 *   <caption>upstream → outcome</caption>
 *   <tr><td>400, 413, 422</td><td>INVALID_ARGUMENT with the upstream's message</td></tr>
 *   <tr><td>404</td><td>NOT_FOUND (the upstream does not serve the model)</td></tr>
 *   <tr><td>429</td><td>RESOURCE_EXHAUSTED, {@code Retry-After} as the hint</td></tr>
 *   <tr><td>401, 403</td><td>UNAVAILABLE (this node's key is wrong; another node may serve), without the upstream's message</td></tr>
 *   <tr><td>other 4xx, 5xx, refused or broken connection, timeout, error event mid-stream</td><td>UNAVAILABLE</td></tr>
 * </table>
 *
 * <p>With an API key, every request (calls and health probes) carries {@code Authorization: Bearer
 * <key>}, as vLLM's {@code --api-key}, TGI behind a gateway and hosted OpenAI-compatible APIs expect;
 * the key is never logged nor put in a message (a 401/403 answer says so without it).
 *
 * <p>Cancelling a call closes its HTTP connection, so the upstream stops generating. Thread-safe.
 */
public final class OpenAiUpstream {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_MESSAGE = 300;

  private final URI base;
  private final String model;
  private final Duration timeout;
  private final HttpClient http;
  private final ScheduledExecutorService timers;
  private final String authorization; // "Bearer <key>", or empty

  /**
   * @param base the server's base URL, e.g. {@code http://127.0.0.1:8000} (a trailing {@code /v1} is allowed)
   * @param model the model name sent upstream
   * @param timeout longest a whole call may take (also the wait for response headers)
   * @param timers runs the call timeouts
   */
  public OpenAiUpstream(URI base, String model, Duration timeout, HttpClient http, ScheduledExecutorService timers) {
    this(base, model, timeout, http, timers, "");
  }

  /**
   * @param apiKey sent as {@code Authorization: Bearer <apiKey>}; empty sends no such header
   * @throws IllegalArgumentException if {@code apiKey} is not printable ASCII without spaces (the
   *     message leaves the key out)
   */
  public OpenAiUpstream(URI base, String model, Duration timeout, HttpClient http, ScheduledExecutorService timers,
      String apiKey) {
    Objects.requireNonNull(apiKey, "apiKey");
    if (!apiKey.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
      throw new IllegalArgumentException("the upstream API key must be printable ASCII without spaces");
    }
    this.authorization = apiKey.isEmpty() ? "" : "Bearer " + apiKey;
    String b = base.toString().replaceAll("/+$", "").replaceAll("/v1$", "");
    this.base = URI.create(b + "/");
    this.model = Objects.requireNonNull(model, "model");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.http = Objects.requireNonNull(http, "http");
    this.timers = Objects.requireNonNull(timers, "timers");
  }

  /** The model name sent upstream. */
  public String model() {
    return model;
  }

  /** The base URL, for messages. */
  public URI base() {
    return base;
  }

  /** A handle on a call in flight. */
  public interface Call {
    /** Stops the call and closes its connection; the listener hears nothing more. Idempotent. */
    void cancel();
  }

  /** Starts streaming {@code request}; {@code listener} hears the text and the end. */
  public Call stream(UpstreamRequest request, UpstreamListener listener) {
    boolean chat = request.chat() != null;
    HttpRequest.Builder http = HttpRequest.newBuilder(base.resolve(chat ? "v1/chat/completions" : "v1/completions"))
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("Accept", "text/event-stream")
        .header("X-Request-Id", request.requestId())
        .POST(HttpRequest.BodyPublishers.ofByteArray(body(request)));
    authorize(http);
    Stream call = new Stream(listener, chat);
    call.timeout = timers.schedule(() -> call.fail(CoreException.unavailable(
        "upstream " + base + " did not finish within " + timeout.toSeconds() + " s")), timeout.toMillis(),
        TimeUnit.MILLISECONDS);
    call.response = this.http.sendAsync(http.build(), call::subscriber);
    call.response.whenComplete((r, t) -> {
      if (t != null) {
        call.fail(failure(t));
      }
    });
    return call;
  }

  /**
   * Asks {@code GET path} (e.g. {@code /v1/models} or {@code /health}); completes with whether the
   * upstream answered 2xx within {@code wait}. Never completes exceptionally.
   */
  public CompletableFuture<Boolean> probe(String path, Duration wait) {
    HttpRequest.Builder r = HttpRequest.newBuilder(base.resolve(path.replaceFirst("^/+", ""))).timeout(wait).GET();
    authorize(r);
    return http.sendAsync(r.build(), HttpResponse.BodyHandlers.discarding())
        .handle((resp, t) -> t == null && resp.statusCode() / 100 == 2);
  }

  /** Whether requests carry an API key. */
  public boolean authenticated() {
    return !authorization.isEmpty();
  }

  private void authorize(HttpRequest.Builder r) {
    if (!authorization.isEmpty()) {
      r.header("Authorization", authorization);
    }
  }

  private byte[] body(UpstreamRequest r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("model", model);
    if (r.chat() != null) {
      ArrayNode messages = o.putArray("messages");
      for (UpstreamRequest.Message m : r.chat()) {
        ObjectNode n = messages.addObject().put("role", m.role()).put("content", m.content());
        if (m.name() != null && !m.name().isEmpty()) {
          n.put("name", m.name());
        }
      }
    } else {
      o.put("prompt", r.prompt());
    }
    o.put("stream", true);
    o.putObject("stream_options").put("include_usage", true);
    if (r.maxTokens() != null) {
      o.put("max_tokens", r.maxTokens());
    }
    if (r.temperature() != null) {
      o.put("temperature", r.temperature());
    }
    if (r.topP() != null) {
      o.put("top_p", r.topP());
    }
    if (r.topK() != null) {
      o.put("top_k", r.topK());
    }
    if (r.seed() != null) {
      o.put("seed", r.seed());
    }
    if (!r.stop().isEmpty()) {
      ArrayNode stop = o.putArray("stop");
      r.stop().forEach(stop::add);
    }
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write a request body", e);
    }
  }

  private CoreException failure(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (c instanceof CoreException e) {
      return e;
    }
    if (c instanceof HttpTimeoutException) {
      return CoreException.unavailable("upstream " + base + " did not answer within " + timeout.toSeconds() + " s");
    }
    if (c instanceof ConnectException) {
      return CoreException.of(CoreException.Kind.UNAVAILABLE, "upstream " + base + " refused the connection", c);
    }
    return CoreException.of(CoreException.Kind.UNAVAILABLE, "upstream " + base + " failed: " + c, c);
  }

  /** The outcome of a non-200 answer. */
  private CoreException httpError(int status, String body, HttpResponse.ResponseInfo info) {
    if (status == 401 || status == 403) {
      // not the upstream's message: some servers echo (part of) the key they refused
      return CoreException.unavailable("upstream answered " + status + ": "
          + (authenticated() ? "it refused engine.upstream's API key" : "it wants an API key (engine.upstream.api_key)"));
    }
    String message = errorMessage(body);
    String what = "upstream answered " + status + (message.isEmpty() ? "" : ": " + message);
    if (status == 400 || status == 413 || status == 422) {
      return CoreException.of(CoreException.Kind.INVALID_ARGUMENT, what);
    }
    if (status == 404) {
      return CoreException.of(CoreException.Kind.NOT_FOUND, what);
    }
    if (status == 429) {
      long retry = info.headers().firstValue("Retry-After").map(OpenAiUpstream::retryAfterMillis).orElse(1000L);
      return CoreException.resourceExhausted(what, retry);
    }
    return CoreException.unavailable(what);
  }

  private static long retryAfterMillis(String header) {
    try {
      return Math.max(0, (long) (Double.parseDouble(header.trim()) * 1000));
    } catch (NumberFormatException e) {
      return 1000; // an HTTP date: not worth parsing for a hint
    }
  }

  /** OpenAI's {@code {"error": {"message": ...}}}, TGI's {@code {"error": "..."}}, or the text itself. */
  private static String errorMessage(String body) {
    String m;
    try {
      JsonNode n = JSON.readTree(body);
      JsonNode e = n.path("error");
      m = e.isTextual() ? e.asText() : e.path("message").isTextual() ? e.path("message").asText()
          : n.path("message").asText(n.path("detail").asText(body));
    } catch (IOException | RuntimeException e) {
      m = body;
    }
    m = m.strip();
    return m.length() > MAX_MESSAGE ? m.substring(0, MAX_MESSAGE) + "..." : m;
  }

  /** One call: the body subscriber, the SSE parser and the listener's guard. */
  private final class Stream implements Call, Flow.Subscriber<String> {
    private final UpstreamListener listener;
    private final boolean chat;
    private final SseEvents events = new SseEvents(this::event);
    private volatile CompletableFuture<HttpResponse<Void>> response;
    private volatile ScheduledFuture<?> timeout;
    @GuardedBy("this")
    private Flow.Subscription subscription;
    @GuardedBy("this")
    private boolean done; // finished, failed or cancelled
    private String finishReason;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private int deltas;

    Stream(UpstreamListener listener, boolean chat) {
      this.listener = listener;
      this.chat = chat;
    }

    HttpResponse.BodySubscriber<Void> subscriber(HttpResponse.ResponseInfo info) {
      int status = info.statusCode();
      if (status == 200) {
        return HttpResponse.BodySubscribers.fromLineSubscriber(this, s -> null, StandardCharsets.UTF_8, null);
      }
      return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofString(StandardCharsets.UTF_8),
          body -> {
            fail(httpError(status, body, info));
            return null;
          });
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      boolean cancelled;
      synchronized (this) {
        subscription = s;
        cancelled = done;
      }
      if (cancelled) {
        s.cancel();
      } else {
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(String line) {
      if (!isDone()) {
        events.line(line);
      }
    }

    @Override
    public void onError(Throwable t) {
      fail(failure(t));
    }

    @Override
    public void onComplete() {
      events.flush();
      if (finishReason != null) {
        finish();
      } else {
        fail(CoreException.unavailable("upstream " + base + " ended the stream before finishing"));
      }
    }

    /** One SSE event's data. */
    private void event(String data) {
      if (data.equals("[DONE]")) {
        finish();
        return;
      }
      JsonNode n;
      try {
        n = JSON.readTree(data);
      } catch (IOException e) {
        fail(CoreException.unavailable("upstream " + base + " sent an event that is not JSON"));
        return;
      }
      if (n.hasNonNull("error")) {
        fail(CoreException.unavailable("upstream failed mid-stream: " + errorMessage(data)));
        return;
      }
      JsonNode usage = n.path("usage");
      if (usage.isObject()) {
        promptTokens = usage.path("prompt_tokens").asInt(-1);
        completionTokens = usage.path("completion_tokens").asInt(-1);
      }
      JsonNode choice = n.path("choices").path(0);
      if (choice.isMissingNode()) {
        return;
      }
      JsonNode text = chat ? choice.path("delta").path("content") : choice.path("text");
      if (text.isTextual() && !text.asText().isEmpty() && !isDone()) {
        deltas++;
        listener.onText(text.asText());
      }
      if (choice.hasNonNull("finish_reason")) {
        finishReason = choice.get("finish_reason").asText();
      }
    }

    private void finish() {
      if (markDone()) {
        listener.onFinished(finishReason == null ? "stop" : finishReason, promptTokens,
            completionTokens >= 0 ? completionTokens : deltas);
      }
    }

    void fail(CoreException e) {
      if (markDone()) {
        closeConnection();
        listener.onFailed(e);
      }
    }

    @Override
    public void cancel() {
      if (markDone()) {
        closeConnection();
      }
    }

    private synchronized boolean isDone() {
      return done;
    }

    private boolean markDone() {
      synchronized (this) {
        if (done) {
          return false;
        }
        done = true;
      }
      ScheduledFuture<?> t = timeout;
      if (t != null) {
        t.cancel(false);
      }
      return true;
    }

    private void closeConnection() {
      Flow.Subscription s;
      synchronized (this) {
        s = subscription;
      }
      if (s != null) {
        s.cancel(); // an unread HTTP/1.1 body: the client closes the connection
      }
      CompletableFuture<HttpResponse<Void>> r = response;
      if (r != null) {
        r.cancel(true);
      }
    }
  }
}
