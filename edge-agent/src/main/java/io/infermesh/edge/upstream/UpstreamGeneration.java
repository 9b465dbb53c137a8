package io.infermesh.edge.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.serve.EdgeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * One forwarded generation, read by its reader's own thread straight from the connection: no
 * client thread, queue or line objects in between, and each SSE event is parsed by a streaming
 * JSON parser that keeps only the delta's text, the finish reason and the usage. A slow reader
 * holds the server back by TCP flow control. {@code data:} lines are joined until a blank line
 * ends the event; other SSE fields are ignored (OpenAI-compatible servers send only {@code data}).
 *
 * <p>While the server is silent the reader checks its cancellation flag and deadline every
 * {@link UpstreamConnection#POLL_MILLIS} ms, so a client that went away, or a deadline that
 * passed, closes the connection (the server then stops generating) within that time even when no
 * token comes. An answer read to its end leaves its connection to the pool for the next request.
 * Confined to the thread that started it.
 */
final class UpstreamGeneration implements Generation {
  /** The longest SSE event kept (a token's delta is a few hundred bytes). */
  static final int MAX_EVENT_BYTES = 1 << 20;
  /** The most of a non-200 answer's body read for its message. */
  static final int MAX_ERROR_BODY = 64 << 10;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonFactory FACTORY = JSON.getFactory();
  private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

  private final boolean chat;
  private final int promptTokensAsCounted;
  private final BooleanSupplier cancelled;
  private final long deadlineNanos;
  private final UpstreamErrors errors;
  private final UpstreamConnections connections;
  private final Runnable release;
  private final Runnable checkStop = this::checkStop;
  private final ArrayDeque<String> ready = new ArrayDeque<>(); // parsed deltas not yet returned
  private byte[] request; // kept until the head arrives: sent again once if a pooled connection was stale
  private UpstreamConnection connection;
  private boolean headRead;
  private byte[] lines = new byte[8192]; // body bytes not yet split into lines
  private int lineBytes;
  private byte[] event = new byte[1024]; // the current event's data
  private int eventBytes;
  private boolean eventHasData;
  private boolean closed;
  private boolean ended; // [DONE] or the end of the body after a finish_reason
  private RuntimeException failure; // met by ready() or awaitEnd, thrown by the next next()
  private String finishReason;
  private int promptTokens = -1;
  private int completionTokens = -1;
  private int deltas;

  /**
   * @param promptTokensAsCounted the edge's count of the prompt, reported when the server sends no usage
   * @param deadlineNanos {@link System#nanoTime()} past which the generation fails ({@code engine.upstream.timeout})
   * @param release called once when the generation is closed (frees its connection slot)
   */
  UpstreamGeneration(boolean chat, int promptTokensAsCounted, BooleanSupplier cancelled, long deadlineNanos,
      UpstreamErrors errors, UpstreamConnections connections, Runnable release) {
    this.chat = chat;
    this.promptTokensAsCounted = promptTokensAsCounted;
    this.cancelled = cancelled;
    this.deadlineNanos = deadlineNanos;
    this.errors = errors;
    this.connections = connections;
    this.release = release;
  }

  /**
   * Sends {@code request} (a whole HTTP/1.1 request) on a pooled or new connection; the answer is
   * read by the first {@link #next()}, so several generations started in a row run at once.
   *
   * @throws EdgeException UNAVAILABLE when the server cannot be reached
   */
  void send(byte[] request) {
    this.request = request;
    try {
      connection = connections.take();
      try {
        connection.send(request);
      } catch (IOException e) {
        if (!connection.reused()) {
          throw e;
        }
        resend(); // the server closed the idle connection meanwhile
      }
    } catch (IOException e) {
      throw errors.transport(e);
    }
  }

  private void resend() throws IOException {
    connection.close();
    connection = null;
    connection = connections.open();
    connection.send(request);
  }

  @Override
  public String next() {
    if (failure != null && ready.isEmpty()) {
      throw failure;
    }
    if (!ended) {
      checkStop(); // also while tokens flow: the connection polls only while the server is silent
    }
    while (ready.isEmpty() && !ended) {
      read(Long.MAX_VALUE);
    }
    return ready.poll();
  }

  /** Exactly: whether an event with text, or the end, has arrived ({@link #next()} would not wait). */
  @Override
  public boolean ready() {
    if (failure != null) {
      return true;
    }
    try {
      while (ready.isEmpty() && !ended && headRead && connection.readable()) {
        if (!read(0)) {
          break;
        }
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
  public void awaitEnd(long nanos) {
    long deadline = System.nanoTime() + nanos;
    try {
      for (long left = nanos; !ended && failure == null && left > 0; left = deadline - System.nanoTime()) {
        read(left);
      }
    } catch (RuntimeException e) {
      failure = e;
    }
  }

  /**
   * Reads and parses what arrives within {@code waitNanos} (the head first); false when nothing came.
   *
   * @throws EdgeException for the server's failures, CancellationException when cancelled
   */
  private boolean read(long waitNanos) {
    try {
      if (!headRead) {
        head();
        return true;
      }
      if (lineBytes == lines.length) {
        if (lines.length >= MAX_EVENT_BYTES) {
          throw errors.broken("sent an event line over " + MAX_EVENT_BYTES + " bytes");
        }
        lines = Arrays.copyOf(lines, lines.length * 2);
      }
      int n = connection.readBody(lines, lineBytes, lines.length - lineBytes, waitNanos, checkStop);
      if (n < 0) {
        end();
        return true;
      }
      if (n == 0) {
        return false;
      }
      int from = lineBytes;
      lineBytes += n;
      splitLines(from);
      return true;
    } catch (IOException e) {
      throw errors.transport(e);
    }
  }

  private void head() throws IOException {
    UpstreamConnection.Head head;
    try {
      head = connection.readHead(checkStop);
    } catch (IOException e) {
      if (!connection.reused() || connection.answered()) {
        throw e;
      }
      resend(); // a pooled connection the server had closed: once more, on a fresh one
      head = connection.readHead(checkStop);
    }
    headRead = true;
    request = null;
    if (head.status() != 200) {
      throw errors.status(head.status(), errorBody(), head.retryAfter());
    }
  }

  /** Up to {@link #MAX_ERROR_BODY} bytes of a non-200 answer, as text. */
  private String errorBody() throws IOException {
    byte[] body = new byte[MAX_ERROR_BODY];
    int length = 0;
    for (int n; length < body.length
        && (n = connection.readBody(body, length, body.length - length, Long.MAX_VALUE, checkStop)) > 0; ) {
      length += n;
    }
    return new String(body, 0, length, StandardCharsets.UTF_8);
  }

  /** Handles every whole line in {@code lines}, scanning for line ends from {@code from}. */
  private void splitLines(int from) {
    int start = 0;
    for (int i = from; i < lineBytes; i++) {
      if (lines[i] == '\n') {
        int end = i > start && lines[i - 1] == '\r' ? i - 1 : i;
        line(start, end);
        start = i + 1;
      }
    }
    if (start > 0) {
      System.arraycopy(lines, start, lines, 0, lineBytes - start);
      lineBytes -= start;
    }
  }

  private void line(int start, int end) {
    if (start == end) {
      dispatch();
    } else if (startsWith(lines, start, end, "data:")) {
      int from = start + 5;
      if (from < end && lines[from] == ' ') {
        from++;
      }
      if (eventHasData) {
        append((byte) '\n');
      }
      eventHasData = true;
      for (int i = from; i < end; i++) {
        append(lines[i]);
      }
    }
  }

  private void append(byte b) {
    if (eventBytes == event.length) {
      if (event.length >= MAX_EVENT_BYTES) {
        throw errors.broken("sent an event over " + MAX_EVENT_BYTES + " bytes");
      }
      event = Arrays.copyOf(event, event.length * 2);
    }
    event[eventBytes++] = b;
  }

  private static boolean startsWith(byte[] b, int start, int end, String prefix) {
    if (end - start < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (b[start + i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** The body ended: a last event without its blank line counts, and the answer must have finished. */
  private void end() {
    dispatch();
    if (!ended && finishReason == null) {
      throw errors.broken("ended the stream before finishing the answer");
    }
    ended = true;
  }

  /** Parses the event gathered so far: its delta's text, finish reason and usage, or its error. */
  private void dispatch() {
    if (!eventHasData) {
      return;
    }
    int length = eventBytes;
    eventHasData = false;
    eventBytes = 0;
    if (Arrays.equals(event, 0, length, DONE, 0, DONE.length)) {
      ended = true;
      return;
    }
    try (JsonParser p = FACTORY.createParser(event, 0, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw errors.broken("sent an event that is not JSON");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        switch (field) {
          case "choices" -> {
            if (value == JsonToken.START_ARRAY) {
              choices(p);
            } else {
              p.skipChildren();
            }
          }
          case "usage" -> {
            if (value == JsonToken.START_OBJECT) {
              usage(p);
            } else {
              p.skipChildren();
            }
          }
          case "error" -> {
            if (value != JsonToken.VALUE_NULL) {
              throw errors.midStream(JSON.readTree(event, 0, length));
            }
          }
          default -> p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw errors.broken("sent an event that is not JSON");
    }
  }

  /** The first choice's text and finish reason; the rest of the array is skipped. */
  private void choices(JsonParser p) throws IOException {
    boolean first = true;
    for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; ) {
      if (t == null) {
        throw new IOException("the event ends inside choices");
      }
      if (!first || t != JsonToken.START_OBJECT) {
        p.skipChildren();
        continue;
      }
      first = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("finish_reason")) {
          if (value.isScalarValue() && value != JsonToken.VALUE_NULL) {
            finishReason = p.getText();
          } else {
            p.skipChildren();
          }
        } else if (!chat && field.equals("text") && value == JsonToken.VALUE_STRING) {
          text(p.getText());
        } else if (chat && field.equals("delta") && value == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String inner = p.currentName();
            if (p.nextToken() == JsonToken.VALUE_STRING && inner.equals("content")) {
              text(p.getText());
            } else {
              p.skipChildren();
            }
          }
        } else {
          p.skipChildren();
        }
      }
    }
  }

  private void text(String text) {
    if (!text.isEmpty()) {
      deltas++;
      ready.add(text);
    }
  }

  private void usage(JsonParser p) throws IOException {
    promptTokens = -1;
    completionTokens = -1;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("prompt_tokens")) {
        promptTokens = p.getValueAsInt(-1);
      } else if (field.equals("completion_tokens")) {
        completionTokens = p.getValueAsInt(-1);
      } else {
        p.skipChildren();
      }
    }
  }

  private void checkStop() {
    if (Thread.currentThread().isInterrupted()) { // a socket read does not notice interrupts: checked here
      throw new CancellationException("interrupted while waiting for the upstream");
    }
    if (cancelled.getAsBoolean()) {
      throw new CancellationException("the generation was cancelled");
    }
    if (System.nanoTime() - deadlineNanos > 0) {
      throw errors.broken("did not finish within engine.upstream.timeout");
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

  /**
   * Gives the connection back to the pool when its answer was read to its end (the last chunk's
   * framing, when it is already here), else closes it: an unread answer's server sees the
   * connection end and stops generating.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      UpstreamConnection c = connection;
      connection = null;
      if (c != null) {
        if (ended && failure == null && drained(c)) {
          c.answerRead();
          connections.give(c);
        } else {
          c.close();
        }
      }
    } finally {
      release.run();
    }
  }

  /** Reads what is left of an ended answer (its closing framing) without waiting; whether it is all read. */
  private boolean drained(UpstreamConnection c) {
    try {
      byte[] rest = new byte[256];
      for (int n; !c.reusable() && (n = c.readBody(rest, 0, rest.length, 0, checkStop)) != 0; ) {
        if (n < 0) {
          break;
        }
      }
      return c.reusable();
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
