package io.infermesh.xds.testing;

import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.snapshot.BurstPolicy;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.RegionPolicy;
import io.infermesh.xds.snapshot.Tier;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Mesh configurations for tests: two private regions and a public burst pool, loopback control plane. */
public final class TestMeshes {

  public static final String EU = "eu-west";
  public static final String US = "us-east";
  public static final String PUBLIC = "public-burst";

  private TestMeshes() {}

  /** mTLS off (plaintext data plane to test backends), burst with no hold time. */
  public static MeshPolicy policy() {
    return MeshPolicy.defaults("mesh.local", List.of(
            new RegionPolicy(EU, Tier.PRIVATE),
            new RegionPolicy(US, Tier.PRIVATE),
            new RegionPolicy(PUBLIC, Tier.PUBLIC)))
        .withMtls(false)
        .withBurst(BurstPolicy.defaults().withMinHold(Duration.ZERO));
  }

  public static MeshConfig config(MeshPolicy policy, List<MeshEndpoint> endpoints) {
    return new MeshConfig(policy, ControlSettings.loopbackForTests(), Optional.empty(), endpoints);
  }
}
