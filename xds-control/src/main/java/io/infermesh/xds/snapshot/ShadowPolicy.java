package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

/**
 * Mirror a share of a service's traffic to a version whose answers are discarded (Envoy request
 * mirroring; proxyless gRPC clients do not mirror).
 *
 * @param version the version that receives the copies
 * @param percent share of requests copied, 0 &lt; percent &lt;= 100, two decimals kept
 */
public record ShadowPolicy(String version, double percent) {

  public ShadowPolicy {
    requireNonNull(version, "version");
    if (!MeshEndpoint.isValidVersion(version)) {
      throw new IllegalArgumentException("shadow version is not valid: '" + version + "'");
    }
    if (!(percent > 0 && percent <= 100)) {
      throw new IllegalArgumentException("shadow percent must be in (0, 100], was " + percent);
    }
  }

  /** The share in ten-thousandths, as Envoy's {@code FractionalPercent} wants it. */
  public int perTenThousand() {
    return (int) Math.round(percent * 100);
  }
}
