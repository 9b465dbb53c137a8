package io.infermesh.xds.snapshot;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.Optional;

/**
 * PEM material the control plane hands to Envoys over SDS: the mesh trust bundle, and each
 * gateway's own certificate chain and private key under its SPIFFE ID. A gateway's identity goes
 * into its own snapshot only (see {@link XdsGroup#identity()}); there is no shared or fallback
 * identity. Immutable; {@link #toString()} never prints keys.
 */
public record SecretMaterial(String trustBundlePem, Map<String, Identity> identitiesBySpiffeId) {

  private static final SecretMaterial NONE = new SecretMaterial("", Map.of());

  public SecretMaterial {
    requireNonNull(trustBundlePem, "trustBundlePem");
    identitiesBySpiffeId = Map.copyOf(requireNonNull(identitiesBySpiffeId, "identitiesBySpiffeId"));
  }

  /** No secrets (mTLS off, or none loaded yet). */
  public static SecretMaterial none() {
    return NONE;
  }

  /** The identity of {@code spiffeId}; empty when none is held (or for an empty id). */
  public Optional<Identity> identity(String spiffeId) {
    return Optional.ofNullable(identitiesBySpiffeId.get(spiffeId));
  }

  @Override
  public String toString() {
    return "SecretMaterial{identities=" + identitiesBySpiffeId.keySet() + ", trustBundle="
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
