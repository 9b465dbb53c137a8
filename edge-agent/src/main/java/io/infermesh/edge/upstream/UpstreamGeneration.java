package io.infermesh.edge.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.serve.EdgeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.util.ArrayDeque;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * One forwarded generation, read as the server sends it: the HTTP client's threads push the SSE
 * lines into a queue (at most {@link #WINDOW} lines ahead: the client asks for more as the reader
 * takes them, so a slow reader holds the upstream back by TCP flow control, not by memory), and
 * the reader's thread parses them into text deltas, one per event, without waiting for more than
 * the next one. {@code data:} lines are joined until a blank line ends the event; other SSE fields
 * are ignored (OpenAI-compatible servers send only {@code data}).
 *
 * <p>While it waits the reader polls the cancellation flag every {@link #POLL_MILLIS} ms, so a
 * client that went away, or a deadline that passed, closes the connection (the upstream then stops
 * generating) within that time even when no token comes. Confined to the reader's thread, except
 * the queue and the subscription, which the client's threads reach.
 */
final class UpstreamGeneration implements Generation, Flow.Subscriber<String> {
  static final int WINDOW = 256;
  private static final long POLL_MILLIS = 20;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Object END = new Object();

  private final LinkedBlockingQueue<Object> lines = new LinkedBlockingQueue<>(); // String, END or EdgeException
  private final boolean chat;
  private final int promptTokensAsCounted;
  private final BooleanSupplier cancelled;
  private final long deadlineNanos;
  private final UpstreamErrors errors;
  private final Runnable release;
  private final StringBuilder data = new StringBuilder();
  private final ArrayDeque<String> ready = new ArrayDeque<>(); // parsed deltas not yet returned
  @GuardedBy("this")
  private Flow.Subscription subscription;
  @GuardedBy("this")
  private boolean closed;
  private volatile CompletableFuture<?> exchange;
  private volatile boolean answered; // headers arrived: a failure now is not a stale connection's
  private volatile boolean resent;
  private boolean ended; // [DONE] or the end of the body after a finish_reason
  private RuntimeException failure; // met by awaitEnd, thrown by the next next()
  private String finishReason;
  private int promptTokens = -1;
  private int completionTokens = -1;
  private int deltas;
  private int taken; // lines taken since demand was last renewed

  /**
   * @param promptTokensAsCounted the edge's count of the prompt, reported when the server sends no usage
   * @param deadlineNanos {@link System#nanoTime()} past which the generation fails ({@code engine.upstream.timeout})
   * @param release called once when the generation is closed (frees its connection slot)
   */
  UpstreamGeneration(boolean chat, int promptTokensAsCounted, BooleanSupplier cancelled, long deadlineNanos,
      UpstreamErrors errors, Runnable release) {
    this.chat = chat;
    this.promptTokensAsCounted = promptTokensAsCounted;
    this.cancelled = cancelled;
    this.deadlineNanos = deadlineNanos;
    this.errors = errors;
    this.release = release;
  }

  /**
   * Sends the request ({@code send} starts one HTTP exchange), cancelled when the generation is
   * closed early. A pooled connection the server had closed meanwhile (keep-alive timeout) fails
   * before any answer: that is sent once more, on a fresh connection.
   */
  void exchange(Supplier<CompletableFuture<?>> send) {
    CompletableFuture<?> running = send.get();
    this.exchange = running;
    running.whenComplete((r, t) -> {
      if (t == null) {
        return;
      }
      if (!answered && !resent && staleConnection(t) && !isClosed()) {
        resent = true;
        exchange(send);
        return;
      }
      fail(errors.transport(t));
    });
  }

  /** The server's answer has begun (status and headers). */
  void answered() {
    answered = true;
  }

  private static boolean staleConnection(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return c instanceof IOException && !(c instanceof ConnectException) && !(c instanceof HttpTimeoutException);
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  /** The answer was not 200: {@code error} is the generation's outcome. */
  void fail(EdgeException error) {
    lines.add(error);
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    boolean cancel;
    synchronized (this) {
      subscription = s;
      cancel = closed;
    }
    if (cancel) {
      s.cancel();
    } else {
      s.request(WINDOW);
    }
  }

  @Override
  public void onNext(String line) {
    lines.add(line);
  }

  @Override
  public void onError(Throwable t) {
    lines.add(errors.transport(t));
  }

  @Override
  public void onComplete() {
    lines.add(END);
  }

  @Override
  public String next() {
    if (failure != null && ready.isEmpty()) {
      throw failure;
    }
    if (!ended) {
      checkStop(); // also while tokens flow: polling below only checks when the server is silent
    }
    while (ready.isEmpty() && !ended) {
      Object item;
      try {
        item = lines.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CancellationException("interrupted while waiting for the upstream");
      }
      if (item == null) {
        checkStop();
        continue;
      }
      take(item);
    }
    if (!ready.isEmpty()) {
      return ready.poll();
    }
    return null;
  }

  /** Exactly: whether an event with text, or the end, has arrived ({@link #next()} would not wait). */
  @Override
  public boolean ready() {
    if (failure != null) {
      return true;
    }
    try {
      for (Object item; ready.isEmpty() && !ended && (item = lines.poll()) != null; ) {
        take(item);
      }
    } catch (RuntimeException e) {
      failure = e; // next() throws it
      return true;
    }
    return !ready.isEmpty() || ended;
  }

  /**
   * Parses what arrives for up to {@code nanos}, returning once the answer has ended, so a writer
   * that waits here before flushing sends the deltas that came meanwhile in one write. A failure
   * met here is thrown by the next {@link #next()}, after the text before it.
   */
  @Override
  public void awaitEnd(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    try {
      for (long left = nanos; !ended && failure == null && left > 0; left = deadline - System.nanoTime()) {
        Object item = lines.poll(left, TimeUnit.NANOSECONDS);
        if (item != null) {
          take(item);
        }
      }
    } catch (RuntimeException e) {
      failure = e;
    }
  }

  private void checkStop() {
    if (cancelled.getAsBoolean()) {
      throw new CancellationException("the generation was cancelled");
    }
    if (System.nanoTime() - deadlineNanos > 0) {
      throw errors.broken("did not finish within engine.upstream.timeout");
    }
  }

  private void take(Object item) {
    if (item instanceof EdgeException e) {
      throw e;
    }
    if (item == END) {
      flushEvent();
      if (!ended && finishReason == null) {
        throw errors.broken("ended the stream before finishing the answer");
      }
      ended = true;
      return;
    }
    line((String) item);
    if (++taken == WINDOW / 2) { // demand in batches: each request() wakes the client's scheduler
      taken = 0;
      Flow.Subscription s;
      synchronized (this) {
        s = subscription;
      }
      if (s != null) {
        s.request(WINDOW / 2);
      }
    }
  }

  private void line(String line) {
    if (line.isEmpty()) {
      flushEvent();
    } else if (line.startsWith("data:")) {
      if (data.length() > 0) {
        data.append('\n');
      }
      data.append(line, line.startsWith("data: ") ? 6 : 5, line.length());
    }
  }

  private void flushEvent() {
    if (data.length() == 0) {
      return;
    }
    String event = data.toString();
    data.setLength(0);
    if (event.equals("[DONE]")) {
      ended = true;
      return;
    }
    JsonNode n;
    try {
      n = JSON.readTree(event);
    } catch (IOException e) {
      throw errors.broken("sent an event that is not JSON");
    }
    if (n.hasNonNull("error")) {
      throw errors.midStream(n);
    }
    JsonNode usage = n.path("usage");
    if (usage.isObject()) {
      promptTokens = usage.path("prompt_tokens").asInt(-1);
      completionTokens = usage.path("completion_tokens").asInt(-1);
    }
    JsonNode choice = n.path("choices").path(0);
    JsonNode text = chat ? choice.path("delta").path("content") : choice.path("text");
    if (text.isTextual() && !text.asText().isEmpty()) {
      deltas++;
      ready.add(text.asText());
    }
    if (choice.hasNonNull("finish_reason")) {
      finishReason = choice.get("finish_reason").asText();
    }
  }

  @Override
  public Completion completion() {
    if (!ended) {
      throw new IllegalStateException("the generation has not ended");
    }
    // stop strings and end-of-sequence are both "stop"; a server's other reasons (eos, tool_calls
    // without tools offered) end the answer as a stop would
    FinishReason reason = "length".equals(finishReason) ? FinishReason.LENGTH : FinishReason.STOP;
    return new Completion(reason, promptTokens >= 0 ? promptTokens : promptTokensAsCounted,
        completionTokens >= 0 ? completionTokens : deltas);
  }

  @Override
  public void close() {
    Flow.Subscription s;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      s = subscription;
    }
    if (!ended) {
      if (s != null) {
        s.cancel(); // an unread HTTP/1.1 body: the client closes the connection, the server stops
      }
      CompletableFuture<?> x = exchange;
      if (x != null) {
        x.cancel(true);
      }
    }
    release.run();
  }
}
