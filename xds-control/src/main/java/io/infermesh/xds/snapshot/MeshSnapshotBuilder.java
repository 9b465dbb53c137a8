package io.infermesh.xds.snapshot;

/**
 * Turns a {@link MeshState} and a {@link MeshPolicy} (plus the burst shares in force and the SDS
 * material) into one xDS snapshot per {@link XdsGroup}: for each data plane, one group per region
 * the policy lists and one for nodes of unknown region.
 *
 * <p>Per group:
 *
 * <ul>
 *   <li><b>Envoy</b> — listener {@code ingress}, route configuration {@code ingress}, every
 *       service's clusters ({@code service} and {@code service|version}), their endpoints as seen
 *       from the group's region, and the SDS secret {@code infermesh-trust-bundle}. Besides, one
 *       group per gateway certificate in the {@link SecretMaterial} ({@link XdsGroup#identity()}):
 *       the same resources for the gateway's region plus {@code infermesh-identity}, its own
 *       certificate and key.
 *   <li><b>Proxyless gRPC</b> — for each gRPC service an API listener and a route configuration
 *       named as the service, the same clusters without Envoy-only settings, and the same
 *       endpoints.
 * </ul>
 *
 * <p>Versions are content hashes per resource and per resource type, so an unchanged type is never
 * resent. Pure and thread-safe (stateless): each call is a full build; {@link
 * IncrementalSnapshotBuilder} is the same build that reuses what its inputs did not change.
 */
public final class MeshSnapshotBuilder {

  private MeshSnapshotBuilder() {}

  /** Builds every group's snapshot. */
  public static MeshSnapshots build(
      MeshState state, MeshPolicy policy, BurstShares shares, SecretMaterial secrets) {
    return new IncrementalSnapshotBuilder().build(state, policy, shares, secrets);
  }
}
