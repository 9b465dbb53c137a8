/**
 * The xDS server: java-control-plane's {@code V3DiscoveryServer} (ADS plus the per-type services,
 * SDS included) on grpc-netty-shaded over mutual TLS, fed by a {@link
 * io.infermesh.xds.server.SnapshotPublisher} that rebuilds snapshots when discovery changes or
 * the burst policy moves. {@link io.infermesh.xds.server.NodeTracker} records every node's
 * ACKs and NACKs; {@link io.infermesh.xds.server.AdminServer} shows them over HTTP with the
 * metrics. {@link io.infermesh.xds.server.ControlPlane} wires it all from {@code mesh.yaml}.
 */
package io.infermesh.xds.server;
