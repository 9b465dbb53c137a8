/**
 * Where endpoints come from: {@link io.infermesh.xds.discovery.StaticEndpointSource} (the
 * {@code discovery.static} list of {@code mesh.yaml}) and {@link
 * io.infermesh.xds.discovery.ConsulEndpointSource} (blocking queries on Consul's health endpoint,
 * passing instances only). {@link io.infermesh.xds.discovery.DiscoveredMesh} merges the sources
 * into one {@link io.infermesh.xds.snapshot.MeshState}.
 *
 * <p>Registration is the nodes' job, not the control plane's: edge agents and core nodes register
 * themselves with a TTL check they keep alive, through {@link
 * io.infermesh.node.registration.ConsulRegistration} (this module's, so that what is written and
 * what is read here are tested together: {@code CoreRegistrationShapeTest}).
 */
package io.infermesh.xds.discovery;
