package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

/**
 * A model the core answers for, as its {@code ListModels} reported it.
 *
 * @param name the name to ask for it by
 * @param version its loaded version
 * @param contextLength its context in tokens (prompt + completion)
 */
public record RemoteModel(String name, String version, int contextLength) {
  public RemoteModel {
    requireNonNull(name, "name");
    requireNonNull(version, "version");
  }
}
