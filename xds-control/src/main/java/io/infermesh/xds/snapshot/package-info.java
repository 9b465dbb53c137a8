/**
 * Pure snapshot policy: {@link io.infermesh.xds.snapshot.MeshState} (what exists) and
 * {@link io.infermesh.xds.snapshot.MeshPolicy} (what {@code mesh.yaml} asks for) in, one xDS
 * {@link io.envoyproxy.controlplane.cache.v3.Snapshot} per {@link io.infermesh.xds.snapshot.XdsGroup}
 * out.
 *
 * <p>Nothing here opens a socket, reads a clock or starts a thread: time comes in as an argument
 * ({@link io.infermesh.xds.snapshot.BurstTracker}), and every class is tested without a network.
 * This package must never import {@code io.grpc}.
 */
package io.infermesh.xds.snapshot;
