package io.infermesh.edge.serve;

import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.node.grpc.VersionPinHeader;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A caller's pin on a model version: HTTP {@code x-infermesh-model-version}, gRPC metadata of the
 * same name or {@code GenerateRequest.hints["model-version"]}. A pin is 1 to 128 characters of
 * {@code [A-Za-z0-9._:+-]} ({@link VersionPinHeader}), compared exactly; anything else is refused (400 /
 * INVALID_ARGUMENT naming the header), never ignored.
 *
 * <p>The edge honours it for its own model, whose version is the first 12 hex digits of its GGUF's
 * SHA-256 ({@code sha256:}-prefixed, or the whole digest, match too):
 *
 * <ul>
 *   <li>the pin names the edge's version: the edge answers (the request is routed as model {@code
 *       edge}), unless it names a core model, which the core then checks;
 *   <li>it names another version: the edge never answers locally; the request goes to the core as
 *       {@code require: core} (503 when the core cannot be reached, no degraded local answer), and
 *       the core serves that version or refuses it (FAILED_PRECONDITION, 400 here); an edge without a
 *       core answers 503. A request the
 *       edge must answer itself (model {@code edge}, or {@code privacy: local-only}) is refused with
 *       400 naming the header.
 * </ul>
 *
 * <p>The pin travels to the core as the hint and as {@code x-infermesh-model-version} metadata,
 * the header the control plane's routes split versions on. Stateless; thread-safe.
 */
public final class VersionPin {
  /** The hint key, as {@code GenerateRequest.hints} carries it. */
  public static final String HINT = VersionPinHeader.HINT;
  /** The HTTP header and gRPC metadata key (the xDS routes' {@code pin_header}). */
  public static final String HEADER = VersionPinHeader.HEADER;

  private VersionPin() {}

  /**
   * Checks a pin as a transport received it, {@code param} naming where it came from.
   *
   * @throws EdgeException INVALID_ARGUMENT naming {@code param}
   */
  public static String check(String param, String value) {
    if (!VersionPinHeader.wellFormed(value)) {
      throw EdgeException.invalid(param, param + ": " + VersionPinHeader.RULE + ", got '" + RoutingHints.echo(value)
          + "'");
    }
    return value;
  }

  /** Whether {@code pin} names the version of {@code model}. */
  static boolean names(String pin, ModelInfo model) {
    String version = model.version();
    return pin.equals(version) || pin.equals("sha256:" + version) || pin.equals(model.sha256())
        || pin.equals("sha256:" + model.sha256());
  }

  /**
   * {@code request} routed so that its pin holds for the edge's model {@code edge} (see the class
   * comment); {@code request} itself when it has no pin.
   *
   * @param coreModels {@code routing.core_models}
   * @param core whether this edge escalates to a core at all ({@code escalation.target} set)
   * @throws EdgeException INVALID_ARGUMENT when the pin names another version and the edge must
   *     answer; UNAVAILABLE when it names another version and there is no core to ask
   */
  static CompletionRequest honoured(CompletionRequest request, ModelInfo edge, List<String> coreModels,
      boolean core) {
    String pin = request.hints().get(HINT);
    if (pin == null) {
      return request;
    }
    String model = request.model();
    boolean onCore = model.equals("core") || coreModels.contains(model)
        || "core".equals(request.hints().get(RoutingHints.REQUIRE));
    boolean onEdge = model.equals("edge") || model.equals(edge.name()) && !coreModels.contains(model)
        || "local-only".equals(request.hints().get(RoutingHints.PRIVACY));
    if (names(pin, edge)) {
      return onCore || onEdge ? request : request.withModel("edge");
    }
    if (onEdge) {
      throw EdgeException.invalid(HEADER, HEADER + ": this edge's model " + RoutingHints.echo(edge.name())
          + " is version " + edge.version() + ", not '" + RoutingHints.echo(pin) + "', and this request must be"
          + " answered on the edge (model edge or privacy local-only); pin " + edge.version() + " or drop the pin");
    }
    if (!core) {
      throw EdgeException.unavailable(HEADER + ": this edge serves version " + edge.version() + " of "
          + RoutingHints.echo(edge.name()) + ", not '" + RoutingHints.echo(pin) + "', and has no core to ask");
    }
    if (onCore) {
      return request;
    }
    Map<String, String> hints = new HashMap<>(request.hints());
    hints.put(RoutingHints.REQUIRE, "core");
    return request.withHints(hints, request.timeout());
  }
}
