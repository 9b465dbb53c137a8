package io.infermesh.edge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket, for requests no HTTP client will send (malformed framing, slow
 * or missing bodies, CONNECT). Each exchange has a read timeout, so a test never hangs.
 */
public final class RawHttp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Socket socket;

  private RawHttp(Socket socket) {
    this.socket = socket;
  }

  /** Connects to loopback {@code port}; reads wait at most {@code readTimeout}. */
  public static RawHttp connect(int port, Duration readTimeout) {
    try {
      Socket socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout((int) readTimeout.toMillis());
      return new RawHttp(socket);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Makes later reads wait at most {@code readTimeout}. */
  public RawHttp timeout(Duration readTimeout) {
    try {
      socket.setSoTimeout((int) readTimeout.toMillis());
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends {@code request} as ISO-8859-1 bytes (headers) with {@code body} appended. */
  public RawHttp send(String request, byte[] body) {
    try {
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().write(body);
      socket.getOutputStream().flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public RawHttp send(String request) {
    return send(request, new byte[0]);
  }

  /** A response: status code, headers (lower-case names, as one block) and body. */
  public record Response(int status, String head, byte[] body) {
    public String header(String name) {
      for (String line : head.split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
          return line.substring(colon + 1).trim();
        }
      }
      return null;
    }

    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + text(), e);
      }
    }
  }

  /**
   * Reads one response: the head, then a body of Content-Length bytes, or (without one) until
   * the server closes; chunked bodies are returned still framed.
   *
   * @throws SocketTimeoutException when nothing complete arrives in time
   */
  public Response read() throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!endsWithBlankLine(head)) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed before a whole response head; got: "
            + head.toString(StandardCharsets.ISO_8859_1));
      }
      head.write(b);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int status = Integer.parseInt(text.substring(9, 12));
    Response partial = new Response(status, text, new byte[0]);
    String length = partial.header("content-length");
    byte[] body;
    if (length != null) {
      body = in.readNBytes(Integer.parseInt(length));
    } else if ("chunked".equalsIgnoreCase(String.valueOf(partial.header("transfer-encoding")))) {
      body = readChunked(in);
    } else {
      body = in.readAllBytes();
    }
    return new Response(status, text, body);
  }

  /** Whether the server closed the connection (read returns end of stream) before the read timeout. */
  public boolean closedByServer() throws IOException {
    try {
      InputStream in = socket.getInputStream();
      while (true) {
        int b = in.read();
        if (b < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
      if (m.contains("reset")) {
        return true;
      }
      throw e;
    }
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      StringBuilder line = new StringBuilder();
      for (int b; (b = in.read()) != '\n'; ) {
        if (b < 0) {
          return body.toByteArray();
        }
        line.append((char) b);
      }
      int size = Integer.parseInt(line.toString().trim(), 16);
      if (size == 0) {
        in.readNBytes(2);
        return body.toByteArray();
      }
      body.write(in.readNBytes(size));
      in.readNBytes(2);
    }
  }

  private static boolean endsWithBlankLine(ByteArrayOutputStream head) {
    byte[] b = head.toByteArray();
    int n = b.length;
    return n >= 4 && b[n - 4] == '\r' && b[n - 3] == '\n' && b[n - 2] == '\r' && b[n - 1] == '\n';
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing a test socket: nothing to do
    }
  }
}
