/**
 * Service registration: a core node announces itself to its local Consul agent (service meta and
 * tags as xds-control's Consul discovery reads them, a TTL check fed by the node's readiness) and
 * withdraws on a clean shutdown. Plain HTTP to the agent with the JDK client; no Consul library.
 */
package io.infermesh.core.registry;
