package io.infermesh.edge.upstream;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * One HTTP/1.1 connection to the upstream server, read by blocking on the thread that relays the
 * answer: the bytes go from the kernel to that thread with no client thread or queue in between
 * (issue 19 measured the JDK client's hand-offs at 131–465 µs of edge CPU a token). A read
 * waits at most {@link #POLL_MILLIS} ms before it gives its caller a chance to stop ({@code
 * onSilence}), so a client that went away or a deadline that passed is noticed while the server is
 * silent.
 *
 * <p>What the server controls is bounded before it is kept: a head line fits in {@link
 * #MAX_LINE} bytes, a head has at most {@link #MAX_HEADERS} fields, a chunk size has at most 16
 * hex digits. Confined to one thread at a time (the pool hands it from one generation to the
 * next).
 */
final class UpstreamConnection implements AutoCloseable {
  static final int POLL_MILLIS = 20;
  static final int MAX_LINE = 8192;
  static final int MAX_HEADERS = 100;
  private static final int BUFFER = 2 * MAX_LINE;

  /** The status and the framing fields of an answer's head. */
  record Head(int status, Optional<String> retryAfter) {}

  private enum Body { NONE, LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, UNTIL_CLOSE, ENDED }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final byte[] buffer = new byte[BUFFER];
  private int position;
  private int limit;
  private int timeoutMillis = POLL_MILLIS;
  private Body body = Body.NONE;
  private long remaining; // of the fixed-length body or of the current chunk
  private boolean keepAlive;
  private boolean answered; // a byte of the current answer arrived
  private int served; // answers read to their end on this connection

  private UpstreamConnection(Socket socket) throws IOException {
    this.socket = socket;
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(POLL_MILLIS);
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** A new connection to {@code host:port}, over TLS (the host's name checked) when {@code tls}. */
  static UpstreamConnection open(String host, int port, boolean tls, int connectTimeoutMillis) throws IOException {
    Socket plain = new Socket();
    try {
      plain.connect(new InetSocketAddress(host, port), connectTimeoutMillis);
      if (!tls) {
        return new UpstreamConnection(plain);
      }
      SSLSocket secure = (SSLSocket) SSLContext.getDefault().getSocketFactory().createSocket(plain, host, port, true);
      SSLParameters parameters = secure.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      secure.setSSLParameters(parameters);
      secure.setSoTimeout(connectTimeoutMillis);
      secure.startHandshake();
      return new UpstreamConnection(secure);
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    } catch (NoSuchAlgorithmException e) {
      plain.close();
      throw new IOException("no default TLS context", e);
    }
  }

  /** Whether an earlier answer on this connection was read to its end (a failure now may be a stale keep-alive). */
  boolean reused() {
    return served > 0;
  }

  /** Whether a byte of the current answer has arrived. */
  boolean answered() {
    return answered;
  }

  /** Sends a whole request (head and body, one write). */
  void send(byte[] request) throws IOException {
    answered = false;
    body = Body.NONE;
    out.write(request);
    out.flush();
  }

  /**
   * Reads the answer's head (skipping interim 1xx answers) and sets up its body's framing.
   *
   * @throws ProtocolException when the head is not HTTP/1.x or exceeds its bounds
   */
  Head readHead(Runnable onSilence) throws IOException {
    while (true) {
      String status = line(onSilence);
      if (!status.startsWith("HTTP/1.") || status.length() < 12 || status.charAt(8) != ' ') {
        throw new ProtocolException("not an HTTP/1.x status line: " + clip(status));
      }
      int code = parseStatus(status.substring(9, 12));
      boolean http10 = status.charAt(7) == '0';
      long length = -1;
      boolean chunked = false;
      boolean close = http10;
      Optional<String> retryAfter = Optional.empty();
      int fields = 0;
      for (String field; !(field = line(onSilence)).isEmpty(); ) {
        if (++fields > MAX_HEADERS) {
          throw new ProtocolException("more than " + MAX_HEADERS + " header fields");
        }
        int colon = field.indexOf(':');
        if (colon <= 0) {
          throw new ProtocolException("not a header field: " + clip(field));
        }
        String name = field.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        String value = field.substring(colon + 1).strip();
        switch (name) {
          case "content-length" -> length = parseLength(value);
          case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
          case "connection" -> close |= value.toLowerCase(Locale.ROOT).contains("close");
          case "retry-after" -> retryAfter = Optional.of(value);
          default -> { } // nothing else changes how the answer is read
        }
      }
      if (code >= 100 && code < 200) {
        continue; // an interim answer: the real one follows
      }
      keepAlive = !close && (chunked || length >= 0);
      if (chunked) {
        body = Body.CHUNK_SIZE;
      } else if (length >= 0) {
        body = length == 0 ? Body.ENDED : Body.LENGTH;
        remaining = length;
      } else {
        body = Body.UNTIL_CLOSE;
      }
      return new Head(code, retryAfter);
    }
  }

  /**
   * Reads body bytes into {@code dst}: at least one, or -1 at the body's end, or 0 when none came
   * within {@code waitNanos} ({@code Long.MAX_VALUE}: no limit; 0: only what is here already).
   * Every {@link #POLL_MILLIS} ms of silence {@code onSilence} runs (it throws to stop).
   */
  int readBody(byte[] dst, int offset, int length, long waitNanos, Runnable onSilence) throws IOException {
    long deadline = waitNanos == Long.MAX_VALUE ? 0 : System.nanoTime() + waitNanos;
    while (true) {
      switch (body) {
        case ENDED -> {
          return -1;
        }
        case NONE -> throw new IllegalStateException("no answer is being read");
        case LENGTH, CHUNK_DATA, UNTIL_CLOSE -> {
          if (position < limit) {
            int n = (int) Math.min(Math.min(length, limit - position), body == Body.UNTIL_CLOSE ? Long.MAX_VALUE
                : remaining);
            System.arraycopy(buffer, position, dst, offset, n);
            position += n;
            if (body != Body.UNTIL_CLOSE && (remaining -= n) == 0) {
              body = body == Body.LENGTH ? Body.ENDED : Body.CHUNK_END;
            }
            return n;
          }
        }
        case CHUNK_SIZE, CHUNK_END, TRAILER -> {
          int end = lineEnd();
          if (end >= 0) {
            framing(end);
            continue;
          }
        }
        default -> throw new IllegalStateException(body.toString());
      }
      // nothing usable buffered: read more, within the wait
      int n = fill(waitNanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime(), onSilence);
      if (n == 0) {
        return 0;
      }
      if (n < 0) {
        if (body == Body.UNTIL_CLOSE) {
          body = Body.ENDED;
          return -1;
        }
        throw new EOFException("the server closed the connection inside the answer");
      }
    }
  }

  /** Whether a body read would find bytes without waiting (buffered here or in the socket). */
  boolean readable() {
    try {
      return position < limit || in.available() > 0;
    } catch (IOException e) {
      return true; // the read reports it
    }
  }

  /** Whether the answer was read to its end and the server keeps the connection open for another. */
  boolean reusable() {
    return body == Body.ENDED && keepAlive && position == limit && !socket.isClosed();
  }

  /** Ends the current answer on a connection that may serve another ({@link #reusable()}). */
  void answerRead() {
    served++;
    body = Body.NONE;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing is all that is wanted; the server sees the end of the connection either way
    }
  }

  /** Consumes the chunked body's framing line ending at {@code end} (the index of its '\n'). */
  private void framing(int end) throws IOException {
    int from = position;
    int to = end > from && buffer[end - 1] == '\r' ? end - 1 : end;
    position = end + 1;
    switch (body) {
      case CHUNK_SIZE -> {
        long size = 0;
        int digits = 0;
        for (int i = from; i < to && buffer[i] != ';' && buffer[i] != ' ' && buffer[i] != '\t'; i++) {
          int d = Character.digit(buffer[i], 16);
          if (d < 0 || ++digits > 16) {
            throw new ProtocolException("not a chunk size");
          }
          size = size << 4 | d;
        }
        if (digits == 0 || size < 0) {
          throw new ProtocolException("not a chunk size");
        }
        remaining = size;
        body = size == 0 ? Body.TRAILER : Body.CHUNK_DATA;
      }
      case CHUNK_END -> {
        if (to != from) {
          throw new ProtocolException("a chunk is longer than its size");
        }
        body = Body.CHUNK_SIZE;
      }
      case TRAILER -> {
        if (to == from) {
          body = Body.ENDED;
        }
      }
      default -> throw new IllegalStateException(body.toString());
    }
  }

  /** One head line, without its line end; waits for it. */
  private String line(Runnable onSilence) throws IOException {
    int end;
    while ((end = lineEnd()) < 0) {
      if (fill(Long.MAX_VALUE, onSilence) < 0) {
        throw new EOFException("the server closed the connection before it answered");
      }
    }
    int to = end > position && buffer[end - 1] == '\r' ? end - 1 : end;
    String line = new String(buffer, position, to - position, StandardCharsets.ISO_8859_1);
    position = end + 1;
    return line;
  }

  /** The index of the next '\n' in the buffer, or -1; a line that cannot fit is refused. */
  private int lineEnd() throws ProtocolException {
    for (int i = position; i < limit; i++) {
      if (buffer[i] == '\n') {
        return i;
      }
    }
    if (limit - position >= MAX_LINE) {
      throw new ProtocolException("a line of the answer's head or framing is over " + MAX_LINE + " bytes");
    }
    return -1;
  }

  /**
   * Reads what the socket has into the buffer, waiting up to {@code waitNanos}: the bytes read, 0
   * when the wait passed with none, -1 at the end of the connection.
   */
  private int fill(long waitNanos, Runnable onSilence) throws IOException {
    if (position == limit) {
      position = 0;
      limit = 0;
    } else if (limit == buffer.length) {
      System.arraycopy(buffer, position, buffer, 0, limit - position);
      limit -= position;
      position = 0;
    }
    long deadline = System.nanoTime() + waitNanos;
    while (true) {
      if (waitNanos <= 0 && in.available() <= 0) {
        return 0; // only what is here already, and nothing is
      }
      int millis = waitNanos == Long.MAX_VALUE ? POLL_MILLIS
          : (int) Math.max(1, Math.min(POLL_MILLIS, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      if (millis != timeoutMillis) {
        socket.setSoTimeout(millis);
        timeoutMillis = millis;
      }
      try {
        int n = in.read(buffer, limit, buffer.length - limit);
        if (n > 0) {
          limit += n;
          answered = true;
        }
        return n;
      } catch (SocketTimeoutException silence) {
        onSilence.run();
        if (waitNanos != Long.MAX_VALUE && deadline - System.nanoTime() <= 0) {
          return 0;
        }
      }
    }
  }

  private static int parseStatus(String digits) throws ProtocolException {
    try {
      return Integer.parseInt(digits);
    } catch (NumberFormatException e) {
      throw new ProtocolException("not a status code: " + digits);
    }
  }

  private static long parseLength(String value) throws ProtocolException {
    if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new ProtocolException("not a Content-Length: " + clip(value));
    }
    return Long.parseLong(value);
  }

  private static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
