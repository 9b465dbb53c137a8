/**
 * The xDS control plane. Three packages, split the way envoyproxy/java-control-plane splits its
 * cache from its server:
 *
 * <ul>
 *   <li>{@link io.infermesh.xds.snapshot} — pure policy: the mesh's endpoints and {@code mesh.yaml}
 *       policy in, one Envoy/gRPC xDS snapshot per node group out. No transport types.
 *   <li>{@link io.infermesh.xds.discovery} — where endpoints come from: static lists in
 *       {@code mesh.yaml} and Consul health queries.
 *   <li>{@link io.infermesh.xds.server} — the ADS/SDS server on gRPC, per-node ACK/NACK tracking,
 *       the admin HTTP endpoint and the loop that republishes snapshots.
 * </ul>
 *
 * <p>{@link io.infermesh.xds.config} reads {@code mesh.yaml} into immutable records.
 */
package io.infermesh.xds;
