/**
 * Per-tenant token quotas per day and per month: {@link io.infermesh.node.quota.QuotaLedger}
 * reserves a request's worst case (prompt + {@code max_tokens}) at admission and settles its real
 * usage at the end, so no request can overdraw a quota; a refusal says which quota and when it
 * resets (for a 429 with {@code Retry-After}).
 *
 * <p>Pure policy: no transport types, an injected clock. Shared by edge and core: the core enforces it on
 * every Generate and Embed when {@code tenants.enforce} is on; the edge does not use it yet.
 */
package io.infermesh.node.quota;
