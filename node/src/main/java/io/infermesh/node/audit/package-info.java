/**
 * The audit log: one JSON line per request decision ({@link io.infermesh.node.audit.AuditRecord}),
 * written by {@link io.infermesh.node.audit.AuditLog} into size- and time-rotated files where each
 * line carries the SHA-256 of the line before it, across files and restarts, and checked by {@link
 * io.infermesh.node.audit.AuditVerifier}, which names the first broken link.
 *
 * <p>Used by the edge and the core (not yet: nothing writes records on the request path today) and
 * by {@code infermesh audit verify}.
 */
package io.infermesh.node.audit;
