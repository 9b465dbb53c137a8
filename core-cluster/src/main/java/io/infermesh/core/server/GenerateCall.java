package io.infermesh.core.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.core.schedule.Priority;
import io.infermesh.core.status.CoreException;
import java.util.UUID;

/**
 * A {@link GenerateRequest} that passed the checks every backend shares, in this order: the
 * lengths of the identifying strings, {@code request_id}, {@code model} (an alias or the served
 * name, else NOT_FOUND), {@code priority}, the ranges of {@code sampling}, {@code n}, then the input (a
 * non-empty prompt, or a chat whose turns have known roles and content). The same request is
 * refused with the same status by every backend.
 *
 * @param key this call's own key in the scheduler or gate (a random UUID): two calls with the same
 *     {@code request_id} never collide
 * @param requestId the caller's {@code request_id}, a label echoed in every chunk (the key when unset)
 * @param priority the scheduling class
 * @param deadlineNanos when the call's deadline passes, on the service's clock ({@code Long.MAX_VALUE}: none)
 * @param choices how many choices ({@code n}) the call asks for, 1 to {@value RequestValidator#MAX_CHOICES}
 * @param request the request as sent
 */
record GenerateCall(String key, String requestId, Priority priority, long deadlineNanos, int choices,
    GenerateRequest request) {

  GenerateCall {
    requireNonNull(key, "key");
    requireNonNull(requestId, "requestId");
    requireNonNull(priority, "priority");
    requireNonNull(request, "request");
  }

  /**
   * Checks {@code request} for a node serving {@code served}.
   *
   * @throws CoreException INVALID_ARGUMENT naming the field, or NOT_FOUND for another model
   */
  static GenerateCall check(GenerateRequest request, String served, long deadlineNanos) {
    RequestValidator.lengths(request);
    String label = RequestValidator.requestId(request);
    RequestValidator.model(request.getModel(), served);
    Priority priority = RequestValidator.priority(request);
    RequestValidator.sampling(request.getSampling()); // ranges; a backend reads the fields it forwards
    int choices = RequestValidator.choices(request);
    switch (request.getInputCase()) {
      case PROMPT -> {
        if (request.getPrompt().isEmpty()) {
          throw CoreException.invalidArgument("prompt", "must not be empty");
        }
      }
      case CHAT -> RequestValidator.chat(request);
      default -> throw CoreException.invalidArgument("input", "set chat or prompt");
    }
    String key = UUID.randomUUID().toString();
    return new GenerateCall(key, label.isEmpty() ? key : label, priority, deadlineNanos, choices, request);
  }
}
