/**
 * The operator's {@code infermesh.v1.Admin} service on an edge agent: list, swap and roll back the
 * edge's GGUF model, drain and undrain the agent. Served on the gRPC port only when callers present
 * mesh certificates (mutual TLS), to role operator only.
 */
package io.infermesh.edge.admin;
