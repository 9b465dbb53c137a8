package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.config.Limits;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.HttpConnection;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The HTTP front door's connection rules, on Jetty under Javalin: every error Jetty itself sends
 * (431, 414, 400 "Bad Message", 417, 505, and anything routed through its error page) is OpenAI
 * error JSON; a connection limit ({@code limits.max_connections}); an idle timeout and a header
 * timeout ({@code limits.idle_timeout}, {@code limits.header_timeout}); a body that stops
 * arriving is a 408 and a malformed chunked body a 400 ({@link #readBody}); {@code CONNECT} is
 * refused and the connection closed. Stateless apart from Jetty's own state; thread-safe.
 */
final class FrontDoor {
  private FrontDoor() {}

  /**
   * The pool Jetty runs requests on: at most {@code maxThreads} ({@code http.max_threads}), at
   * least 8 kept, idle ones beyond that ended after a minute (Javalin's defaults otherwise).
   */
  static QueuedThreadPool threadPool(int maxThreads) {
    QueuedThreadPool pool = new QueuedThreadPool(maxThreads, Math.min(8, maxThreads), 60_000);
    pool.setName("edge-http");
    return pool;
  }

  /** Installs the JSON error handler and the connection limit on {@code server}. */
  static void guard(Server server, Limits limits) {
    server.setErrorHandler(new JsonErrorHandler());
    server.addBean(new ConnectionLimit(limits.maxConnections(), server));
  }

  /** Sets {@code connector}'s idle timeout and closes connections that do not send headers in time. */
  static void guard(ServerConnector connector, Limits limits) {
    connector.setIdleTimeout(limits.idleTimeout().toMillis());
    connector.addBean(new HeaderTimeout(connector, limits.headerTimeout().toMillis()));
  }

  /** Refuses {@code CONNECT} (this is no proxy) with 405 and closes the connection. */
  static void refuseConnect(Context ctx) {
    if ("CONNECT".equals(ctx.req().getMethod())) {
      ctx.header("Connection", "close");
      throw new HttpProblem(405, null, "CONNECT is not supported: this server is not a proxy");
    }
  }

  /**
   * Reads a request body of at most {@code maxBodyBytes}: 413 beyond it, 408 when the body stops
   * arriving for the idle timeout, 400 when it ends early or its chunked framing is malformed
   * (Jetty reports both as an early end of file).
   */
  static byte[] readBody(HttpServletRequest request, long maxBodyBytes) {
    long declared = request.getContentLengthLong();
    if (declared > maxBodyBytes) {
      throw new HttpProblem(413, null, "body: the request body is " + declared + " bytes, more than the limit of "
          + maxBodyBytes + " bytes");
    }
    try (InputStream in = request.getInputStream()) {
      if (declared >= 0) {
        // the usual case: read straight into an array of the declared size (no scratch buffer, no copy)
        byte[] body = new byte[(int) declared];
        if (in.readNBytes(body, 0, body.length) < body.length) {
          throw new EofException("early end");
        }
        return body;
      }
      ByteArrayOutputStream body = new ByteArrayOutputStream(1024);
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) > 0; ) {
        if (body.size() + n > maxBodyBytes) {
          throw new HttpProblem(413, null, "body: the request body is larger than the limit of " + maxBodyBytes
              + " bytes");
        }
        body.write(buffer, 0, n);
      }
      return body.toByteArray();
    } catch (EofException e) {
      throw new HttpProblem(400, null, "body: the request body ended early or its chunked framing is malformed");
    } catch (IOException e) {
      if (e.getCause() instanceof TimeoutException) {
        throw new HttpProblem(408, null, "body: the request body stopped arriving; send it whole within the idle"
            + " timeout");
      }
      throw new HttpProblem(400, null, "body: the request body could not be read");
    }
  }

  /** Jetty's errors as OpenAI error JSON instead of HTML. */
  private static final class JsonErrorHandler extends ErrorHandler {
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
      fields.put(HttpHeader.CONTENT_TYPE, "application/json");
      return ByteBuffer.wrap(json(status, reason));
    }

    @Override
    protected void generateAcceptableResponse(Request baseRequest, HttpServletRequest request,
        HttpServletResponse response, int code, String message) throws IOException {
      baseRequest.setHandled(true);
      response.setContentType("application/json");
      byte[] body = json(code, message);
      response.setContentLength(body.length);
      response.getOutputStream().write(body);
    }

    private static byte[] json(int status, String reason) {
      String text = reason == null || reason.isBlank() ? HttpStatus.getMessage(status) : reason;
      if (text.length() > 200) {
        text = text.substring(0, 200) + "…";
      }
      // 505 (an HTTP version Jetty does not speak) is the client's doing too
      String type = status < 500 || status == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505 ? "invalid_request_error"
          : "server_error";
      return HttpErrors.body("The request could not be read: " + text + " (HTTP " + status + ")", type, null, null)
          .toString().getBytes(StandardCharsets.UTF_8);
    }
  }

  /**
   * Closes a connection whose first request's headers have not arrived within the timeout (a
   * client that connects and drips bytes would otherwise be held for as long as each byte comes
   * within the idle timeout). Later requests on a kept-alive connection are bounded by the idle
   * timeout and the header size limit. Thread-safe: Jetty calls it from its selector threads.
   */
  private static final class HeaderTimeout implements Connection.Listener {
    private final ServerConnector connector;
    private final long timeoutMillis;
    private final Map<Connection, Scheduler.Task> pending = new ConcurrentHashMap<>();

    HeaderTimeout(ServerConnector connector, long timeoutMillis) {
      this.connector = requireNonNull(connector, "connector");
      this.timeoutMillis = timeoutMillis;
    }

    @Override
    public void onOpened(Connection connection) {
      if (connection instanceof HttpConnection http) {
        pending.put(connection, connector.getScheduler().schedule(() -> expire(http), timeoutMillis,
            TimeUnit.MILLISECONDS));
      }
    }

    private void expire(HttpConnection http) {
      pending.remove(http);
      if (http.getMessagesIn() == 0) {
        http.getEndPoint().close();
      }
    }

    @Override
    public void onClosed(Connection connection) {
      Scheduler.Task task = pending.remove(connection);
      if (task != null) {
        task.cancel();
      }
    }
  }
}
