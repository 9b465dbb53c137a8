/**
 * Tenants at the core's front door: {@link io.infermesh.core.tenant.TenantPolicy} decides whether a
 * caller may name the tenant a request is billed to, and whether that tenant is within its limits
 * (requests and tokens per minute, token quotas per day and month); a {@link
 * io.infermesh.core.tenant.TenantTab} settles a call's real usage when it ends.
 *
 * <p>Pure policy: no transport types (checked by ImportControl), an injected clock. The gRPC service
 * wires it and maps its refusals to statuses.
 */
package io.infermesh.core.tenant;
