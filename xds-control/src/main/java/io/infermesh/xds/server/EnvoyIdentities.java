package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.IssuedCertificate;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.Role;
import io.infermesh.xds.snapshot.SecretMaterial;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issues the identities Envoys receive over SDS, from the mesh CA: one {@code gateway}
 * certificate per region ({@code spiffe://<td>/<region>/gateway/envoy}) and a fallback for Envoys
 * of unlisted regions (region {@value #FALLBACK_REGION}). Each is reissued once two thirds of its
 * lifetime have passed; the new snapshot carries it and Envoy swaps it without a restart.
 *
 * <p>Thread-safe ({@link #current()} is lock-free; {@link #renewIfDue()} is synchronized).
 */
public final class EnvoyIdentities {

  /** The SPIFFE region segment of the fallback identity. */
  public static final String FALLBACK_REGION = "any";

  private static final Logger log = LoggerFactory.getLogger(EnvoyIdentities.class);

  private final CertificateAuthority ca;
  private final List<String> regions;
  private final Duration validity;
  private final Clock clock;
  private volatile SecretMaterial current = SecretMaterial.none();
  // @GuardedBy("this")
  private Instant renewAt = Instant.MIN;

  public EnvoyIdentities(CertificateAuthority ca, List<String> regions, Duration validity, Clock clock) {
    this.ca = requireNonNull(ca, "ca");
    this.regions = List.copyOf(requireNonNull(regions, "regions"));
    this.validity = requireNonNull(validity, "validity");
    this.clock = requireNonNull(clock, "clock");
  }

  /** The material in force; {@link SecretMaterial#none()} before the first {@link #renewIfDue()}. */
  public SecretMaterial current() {
    return current;
  }

  /**
   * Issues fresh identities when none exist or two thirds of their lifetime have passed.
   *
   * @return whether new identities were issued
   */
  public synchronized boolean renewIfDue() {
    Instant now = clock.instant();
    if (now.isBefore(renewAt)) {
      return false;
    }
    Map<String, SecretMaterial.Identity> identities = new LinkedHashMap<>();
    for (String region : regions) {
      identities.put(region, issue(region));
    }
    identities.put("", issue(FALLBACK_REGION));
    current = new SecretMaterial(ca.certificatePem(), identities);
    renewAt = now.plus(validity.multipliedBy(2).dividedBy(3));
    log.info("sds: issued Envoy identities for {} (valid {}, renewing at {})", identities.keySet(), validity, renewAt);
    return true;
  }

  private SecretMaterial.Identity issue(String region) {
    IssuedCertificate issued = ca.issue(LeafRequest.builder(Role.GATEWAY, region, "envoy").validity(validity).build());
    return new SecretMaterial.Identity(issued.certificateChainPem(), issued.privateKeyPem());
  }
}
