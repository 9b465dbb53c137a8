package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.Optional;

/**
 * PEM material the control plane hands to Envoys over SDS: the mesh trust bundle and one identity
 * (certificate chain and private key) per region, with an optional fallback under the empty key
 * for Envoys of unlisted regions. Immutable; {@link #toString()} never prints keys.
 */
public record SecretMaterial(String trustBundlePem, Map<String, Identity> identitiesByRegion) {

  private static final SecretMaterial NONE = new SecretMaterial("", Map.of());

  public SecretMaterial {
    requireNonNull(trustBundlePem, "trustBundlePem");
    identitiesByRegion = Map.copyOf(requireNonNull(identitiesByRegion, "identitiesByRegion"));
  }

  /** No secrets (mTLS off, or not issued yet). */
  public static SecretMaterial none() {
    return NONE;
  }

  /** The identity for Envoys of {@code region}, else the fallback identity. */
  public Optional<Identity> identity(String region) {
    Identity id = identitiesByRegion.get(region);
    return Optional.ofNullable(id != null ? id : identitiesByRegion.get(""));
  }

  @Override
  public String toString() {
    return "SecretMaterial{regions=" + identitiesByRegion.keySet() + ", trustBundle="
        + (trustBundlePem.isEmpty() ? "none" : trustBundlePem.length() + " chars") + "}";
  }

  /** A certificate chain (leaf first) and its private key, both PEM. */
  public record Identity(String certificateChainPem, String privateKeyPem) {
    public Identity {
      requireNonNull(certificateChainPem, "certificateChainPem");
      requireNonNull(privateKeyPem, "privateKeyPem");
    }

    @Override
    public String toString() {
      return "Identity{chain=" + certificateChainPem.length() + " chars, key=redacted}";
    }
  }
}
