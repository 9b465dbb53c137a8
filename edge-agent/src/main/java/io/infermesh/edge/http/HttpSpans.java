package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.serve.EdgeException;
import io.infermesh.node.telemetry.Tracing;
import io.javalin.http.Context;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;

/**
 * The SERVER span of each API request: a child of the caller's W3C {@code traceparent} header
 * when it sent a valid one (else a new trace), current on the handler's thread while the request
 * is answered, so the request path's spans (auth, route, cache, admission, generation, escalation)
 * are its children. With tracing off the handler runs as it is, with no span. Thread-safe.
 */
final class HttpSpans {
  /** A handler's body. */
  interface Body {
    void run() throws Exception;
  }

  private final Tracing tracing;

  HttpSpans(Tracing tracing) {
    this.tracing = requireNonNull(tracing, "tracing");
  }

  /** Runs {@code body} for the request {@code ctx} to {@code route} in its span. */
  void run(Context ctx, String route, Body body) throws Exception {
    if (!tracing.enabled()) {
      body.run();
      return;
    }
    io.opentelemetry.context.Context parent = tracing.callerContext(ctx::header);
    String method = ctx.method().name();
    Span span = tracing.tracer().spanBuilder(method + " " + route).setParent(parent).setSpanKind(SpanKind.SERVER)
        .setAttribute("http.request.method", method)
        .setAttribute("http.route", route)
        .setAttribute("url.path", ctx.path())
        .startSpan();
    try (Scope ignored = parent.with(span).makeCurrent()) {
      body.run();
      span.setAttribute("http.response.status_code", (long) ctx.statusCode());
    } catch (EdgeException e) {
      span.setAttribute("error.type", e.kind().metricName());
      span.setStatus(StatusCode.ERROR, e.kind().metricName());
      throw e;
    } catch (Exception | Error e) {
      span.setAttribute("error.type", e.getClass().getName());
      span.setStatus(StatusCode.ERROR);
      throw e;
    } finally {
      span.end();
    }
  }
}
