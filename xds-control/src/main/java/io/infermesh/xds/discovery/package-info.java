/**
 * Where endpoints come from: {@link io.infermesh.xds.discovery.StaticEndpointSource} (the
 * {@code discovery.static} list of {@code mesh.yaml}) and {@link
 * io.infermesh.xds.discovery.ConsulEndpointSource} (blocking queries on Consul's health endpoint,
 * passing instances only). {@link io.infermesh.xds.discovery.DiscoveredMesh} merges the sources
 * into one {@link io.infermesh.xds.snapshot.MeshState}.
 *
 * <p>Registration is the nodes' job, not the control plane's: a core node registers itself with a
 * TTL check it keeps alive (core-cluster's {@code ConsulRegistration}; the shape is pinned by
 * {@code CoreRegistrationShapeTest} and {@code deploy/consul/}).
 */
package io.infermesh.xds.discovery;
