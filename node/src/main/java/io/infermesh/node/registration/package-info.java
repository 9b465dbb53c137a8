/**
 * Service registration: a mesh node (edge agent or core node) announces itself to its local Consul
 * agent (service meta and tags as {@code io.infermesh.xds.discovery} reads them, a TTL check fed by
 * the node's readiness, its load in the meta) and withdraws on a clean shutdown. It lives beside
 * discovery so that the two sides of the contract are one module's code and tests. Plain HTTP to
 * the agent with the JDK client.
 */
package io.infermesh.node.registration;
