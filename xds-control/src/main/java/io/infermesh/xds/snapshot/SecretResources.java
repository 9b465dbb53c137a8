package io.infermesh.xds.snapshot;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the SDS secrets of one Envoy group: the trust bundle, and — only in a gateway's own group —
 * that gateway's identity. Stateless.
 */
final class SecretResources {

  private SecretResources() {}

  static List<Secret> envoySecrets(SecretMaterial material, String identity) {
    List<Secret> secrets = new ArrayList<>(2);
    material.identity(identity).ifPresent(id -> secrets.add(Secret.newBuilder()
        .setName(ResourceNames.IDENTITY_SECRET)
        .setTlsCertificate(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setInlineString(id.certificateChainPem()))
            .setPrivateKey(DataSource.newBuilder().setInlineString(id.privateKeyPem())))
        .build()));
    if (!material.trustBundlePem().isEmpty()) {
      secrets.add(Secret.newBuilder()
          .setName(ResourceNames.TRUST_BUNDLE_SECRET)
          .setValidationContext(CertificateValidationContext.newBuilder()
              .setTrustedCa(DataSource.newBuilder().setInlineString(material.trustBundlePem())))
          .build());
    }
    return secrets;
  }
}
