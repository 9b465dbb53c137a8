package io.infermesh.edge.serve;

import io.infermesh.edge.engine.ModelInfo;
import java.util.List;
import java.util.Map;

/**
 * The routing hints a caller may send — HTTP {@code x-infermesh-*} headers, gRPC {@code
 * GenerateRequest.hints} — and their only accepted values. Hints decide where a prompt may go
 * ({@code privacy: local-only} keeps it on this device), so they fail closed: an unknown hint, an
 * unknown value or a contradiction is refused with INVALID_ARGUMENT naming the hint, never
 * ignored (ignoring {@code privacy: local_only} would send the prompt to the core). Messages
 * never echo more than {@value #ECHO_LIMIT} characters of what the caller sent. Stateless;
 * thread-safe.
 */
public final class RoutingHints {
  /** {@code privacy}: the request must never leave the node that received it. */
  public static final String PRIVACY = "privacy";
  /** {@code require}: the core must answer, or the request fails (503). */
  public static final String REQUIRE = "require";
  /**
   * {@code reanswer}: if the answer turns {@code edge-degraded} because the core cannot be used, keep
   * the request and ask the core again when it is back ({@link Deferrals}).
   */
  public static final String REANSWER = "reanswer";
  /** The hints and their accepted values (lower case), in documentation order. */
  public static final Map<String, List<String>> ACCEPTED = Map.of(
      PRIVACY, List.of("local-only"),
      REQUIRE, List.of("core"),
      RequestValidator.PRIORITY_HINT, List.of("high", "normal", "low"),
      REANSWER, List.of("deferred"));
  static final int ECHO_LIMIT = 40;

  private RoutingHints() {}

  /**
   * Checks one hint as a transport received it; the caller names it {@code prefix + name} ({@code
   * x-infermesh-privacy}, {@code hints.privacy}).
   *
   * @throws EdgeException INVALID_ARGUMENT for an unknown hint or value
   */
  public static void check(String prefix, String name, String value) {
    String param = prefix + echo(name);
    if (name.equals(VersionPin.HINT)) {
      VersionPin.check(param, value);
      return;
    }
    List<String> accepted = ACCEPTED.get(name);
    if (accepted == null) {
      throw EdgeException.invalid(param, param + ": unknown routing hint; known hints are "
          + ACCEPTED.keySet().stream().sorted().toList() + " and " + VersionPin.HINT);
    }
    if (!accepted.contains(value)) {
      String choices = accepted.size() == 1 ? accepted.get(0)
          : String.join(", ", accepted.subList(0, accepted.size() - 1)) + " or " + accepted.get(accepted.size() - 1);
      throw EdgeException.invalid(param, param + ": must be " + choices + ", got '" + echo(value) + "'");
    }
  }

  /**
   * Refuses hints that contradict each other or the requested model: {@code require: core} with
   * a model the edge answers ({@code edge} or its own model's name), and {@code privacy:
   * local-only} with anything that must leave the edge ({@code require: core}, model {@code core}
   * or a name in {@code routing.core_models}).
   *
   * @param model the requested model ("" or {@code auto} when unset)
   */
  static void checkConflicts(Map<String, String> hints, String model, ModelInfo edgeModel, List<String> coreModels) {
    boolean requireCore = "core".equals(hints.get(REQUIRE));
    boolean localOnly = "local-only".equals(hints.get(PRIVACY));
    boolean modelOnEdge = model.equals("edge") || model.equals(edgeModel.name()) && !coreModels.contains(model);
    boolean modelOnCore = model.equals("core") || coreModels.contains(model);
    if (requireCore && localOnly) {
      throw EdgeException.invalid(REQUIRE, "require: 'core' conflicts with privacy 'local-only' (the request may not"
          + " leave this node); send one of them");
    }
    if (requireCore && modelOnEdge) {
      throw EdgeException.invalid(REQUIRE, "require: 'core' conflicts with model '" + echo(model)
          + "', which the edge answers; ask for model 'core' or 'auto', or drop require");
    }
    if (localOnly && modelOnCore) {
      throw EdgeException.invalid(PRIVACY, "privacy: 'local-only' conflicts with model '" + echo(model)
          + "', which only the core serves; ask for model 'edge' or 'auto', or drop privacy");
    }
  }

  /** At most {@value #ECHO_LIMIT} characters of {@code text}, for messages (a status must stay small). */
  static String echo(String text) {
    if (text == null) {
      return "null";
    }
    return text.length() <= ECHO_LIMIT ? text : text.substring(0, ECHO_LIMIT) + "…";
  }
}
