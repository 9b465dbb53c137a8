/**
 * Model versions of an edge agent and the holds requests take on them: the engine serving new
 * requests, the replaced one draining, and the previous one a rollback returns to
 * ({@link io.infermesh.edge.swap.EngineVersions}). No transport: the operator's gRPC service in
 * {@code edge.admin} and the request path in {@code edge.serve} both stand on it.
 */
package io.infermesh.edge.swap;
