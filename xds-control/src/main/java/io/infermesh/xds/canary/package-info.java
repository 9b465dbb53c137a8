/**
 * Canary rollouts as pure policy: a {@link io.infermesh.xds.canary.RolloutPlan} from {@code
 * mesh.yaml}, the cumulative {@link io.infermesh.xds.canary.VersionStats} the nodes report, and
 * {@link io.infermesh.xds.canary.CanaryRollout}, which turns them into the next weights or a
 * rollback with its reason. No sockets and no wall clock (time is injected); the driver that
 * scrapes the nodes and republishes the snapshots lives in {@code io.infermesh.xds.server}.
 */
package io.infermesh.xds.canary;
