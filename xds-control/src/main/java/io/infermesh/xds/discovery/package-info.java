/**
 * Where endpoints come from: {@link io.infermesh.xds.discovery.StaticEndpointSource} (the
 * {@code discovery.static} list of {@code mesh.yaml}) and {@link
 * io.infermesh.xds.discovery.ConsulEndpointSource} (blocking queries on Consul's health endpoint,
 * passing instances only). {@link io.infermesh.xds.discovery.DiscoveredMesh} merges the sources
 * into one {@link io.infermesh.xds.snapshot.MeshState}. {@link
 * io.infermesh.xds.discovery.ConsulRegistrar} registers a node with a health check.
 */
package io.infermesh.xds.discovery;
