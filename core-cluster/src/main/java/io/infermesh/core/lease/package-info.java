/**
 * Token budgets leased to edge devices: {@link io.infermesh.core.lease.LeaseBook} grants a device
 * a signed budget for one tenant, reserved in that tenant's quotas ({@code QuotaLedger}), and
 * charges what the device reports it spent, once per report sequence.
 *
 * <p>Why here: the core already decides every tenant's limits and holds their day and month quotas
 * ({@code core.tenant}); a lease is a piece of that same budget handed out ahead of time, so it is
 * reserved in the same ledger and no call or lease can overdraw it. The control plane knows
 * endpoints, not tenants.
 *
 * <p>Pure policy over records and proto messages: no transport types, an injected clock. The gRPC
 * service ({@code core.server.LeasesService}) takes the caller's identity from its certificate.
 */
package io.infermesh.core.lease;
