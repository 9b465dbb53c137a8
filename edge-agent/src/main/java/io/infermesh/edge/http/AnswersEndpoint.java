package io.infermesh.edge.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.Deferral;
import io.infermesh.edge.serve.Deferrals;
import io.infermesh.edge.serve.Served;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;

/**
 * {@code GET /v1/infermesh/answers/{id}}, the core's re-answer of a degraded answer ({@link
 * Deferrals}): 200 with the answer (OpenAI's completion object, {@code infermesh.route: core}); 202
 * with {@code {"status": "pending"}} while the core has not answered; 404 for an id that is unknown,
 * expired or another tenant's (the two are told apart by nobody); 502 with the core's error when the
 * core refused it for good. The caller authenticates as for completions. Also the response headers
 * and body extension that tell a client what became of its ask ({@link #tell}). Stateless; thread-safe.
 */
final class AnswersEndpoint {
  static final String PATH = "/v1/infermesh/answers/{id}";
  static final String STATUS_HEADER = "x-infermesh-reanswer";
  static final String ID_HEADER = "x-infermesh-reanswer-id";
  static final String REASON_HEADER = "x-infermesh-reanswer-reason";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CompletionService service;

  AnswersEndpoint(CompletionService service) {
    this.service = service;
  }

  void handle(Context ctx) throws IOException {
    Tenant tenant = service.authenticate(ctx.header("Authorization"));
    InfermeshHeaders.read(ctx.req()); // fail closed here too
    String id = ctx.pathParam("id");
    Deferrals.Answer answer = service.deferrals().answer(id, tenant);
    switch (answer.state()) {
      case ANSWERED -> raw(ctx, 200, answer.body());
      case FAILED -> raw(ctx, 502, answer.body());
      case PENDING -> HttpErrors.write(ctx, 202, JSON.createObjectNode().put("id", id).put("status", "pending"));
      default -> throw new HttpProblem(404, "id", "No re-answer '" + (id.length() <= 40 ? id : id.substring(0, 40))
          + "' for this caller: it is unknown, expired, or not yours.");
    }
  }

  private static void raw(Context ctx, int status, byte[] body) throws IOException {
    ctx.status(status);
    ctx.contentType("application/json");
    ctx.res().setContentLength(body.length);
    try (OutputStream out = ctx.res().getOutputStream()) {
      out.write(body);
    }
  }

  /** Sets the re-answer headers of {@code served}, if it has a deferral outcome. */
  static void tell(Context ctx, Served served) {
    served.deferral().ifPresent(d -> {
      ctx.header(STATUS_HEADER, d.status());
      if (d.deferred()) {
        ctx.header(ID_HEADER, d.id());
      } else {
        ctx.header(REASON_HEADER, d.reason());
      }
    });
  }

  /** Adds {@code infermesh.reanswer} ({@code status}, and {@code id} or {@code reason}) to {@code root}, if any. */
  static ObjectNode tell(ObjectNode root, Served served) {
    if (served.deferral().isPresent()) {
      Deferral d = served.deferral().get();
      ObjectNode r = root.putObject("infermesh").putObject("reanswer").put("status", d.status());
      if (d.deferred()) {
        r.put("id", d.id());
      } else {
        r.put("reason", d.reason());
      }
    }
    return root;
  }
}
