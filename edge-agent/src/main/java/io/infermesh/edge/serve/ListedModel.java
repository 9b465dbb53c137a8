package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.engine.ModelInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One id a request's {@code model} may name, as {@code /v1/models} lists it.
 *
 * @param id the name or alias
 * @param ownedBy who serves it: {@code infermesh} for the aliases, {@code infermesh-edge} or {@code
 *     infermesh-core} for a concrete model
 * @param contextLength its context in tokens, 0 when not known (a configured core model the core
 *     has not listed)
 * @param version the loaded version, empty for aliases and unknown versions
 */
public record ListedModel(String id, String ownedBy, int contextLength, String version) {
  public ListedModel {
    requireNonNull(id, "id");
    requireNonNull(ownedBy, "ownedBy");
    requireNonNull(version, "version");
  }

  /**
   * The aliases ({@code auto} — the larger of the two contexts, since it may escalate — {@code
   * edge}, and {@code core} when there is one), the edge's model, the core's listed models and
   * the configured core-only names it did not list; the first of a name wins.
   */
  static List<ListedModel> all(ModelInfo edge, boolean hasCore, List<RemoteModel> core, List<String> configured) {
    int coreContext = core.stream().mapToInt(RemoteModel::contextLength).max().orElse(0);
    Map<String, ListedModel> out = new LinkedHashMap<>();
    add(out, new ListedModel("auto", "infermesh", Math.max(edge.contextSize(), coreContext), ""));
    add(out, new ListedModel("edge", "infermesh", edge.contextSize(), ""));
    if (hasCore) {
      add(out, new ListedModel("core", "infermesh", coreContext, ""));
    }
    add(out, new ListedModel(edge.name(), "infermesh-edge", edge.contextSize(), edge.version()));
    for (RemoteModel m : core) {
      add(out, new ListedModel(m.name(), "infermesh-core", m.contextLength(), m.version()));
    }
    for (String name : configured) {
      add(out, new ListedModel(name, "infermesh-core", 0, ""));
    }
    return List.copyOf(new ArrayList<>(out.values()));
  }

  private static void add(Map<String, ListedModel> out, ListedModel m) {
    out.putIfAbsent(m.id(), m);
  }
}
