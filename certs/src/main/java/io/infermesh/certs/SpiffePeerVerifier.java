package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import io.grpc.util.AdvancedTlsX509TrustManager.SslSocketAndEnginePeerVerifier;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;

/**
 * The identity half of the handshake check, run after the trust manager has verified the chain
 * to the mesh CA (and its validity dates). A server only requires that the client's leaf carries
 * a well-formed SPIFFE ID (authorization by trust domain and role happens per call, in {@link
 * RoleAuthorizationInterceptor}); a client also requires the server to be in its own trust domain
 * and to match its {@link ExpectedIdentity}. Stateless; thread-safe.
 */
final class SpiffePeerVerifier implements SslSocketAndEnginePeerVerifier {
  private final Supplier<String> trustDomain;
  private final ExpectedIdentity expectedServer; // null on the server side

  private SpiffePeerVerifier(Supplier<String> trustDomain, ExpectedIdentity expectedServer) {
    this.trustDomain = trustDomain;
    this.expectedServer = expectedServer;
  }

  /** For servers: the client must present a SPIFFE ID. */
  static SpiffePeerVerifier forServer() {
    return new SpiffePeerVerifier(null, null);
  }

  /** For clients: the server must be in {@code trustDomain} and match {@code expected}. */
  static SpiffePeerVerifier forClient(Supplier<String> trustDomain, ExpectedIdentity expected) {
    return new SpiffePeerVerifier(requireNonNull(trustDomain, "trustDomain"), requireNonNull(expected, "expected"));
  }

  @Override
  public void verifyPeerCertificate(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public void verifyPeerCertificate(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    verify(chain);
  }

  void verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer presented no certificate");
    }
    SpiffeId peer;
    try {
      peer = SpiffeId.fromCertificate(chain[0]);
    } catch (IllegalArgumentException e) {
      throw new CertificateException("the peer is not a mesh identity: " + e.getMessage(), e);
    }
    if (expectedServer == null) {
      return;
    }
    String ours = trustDomain.get();
    if (!peer.trustDomain().equals(ours)) {
      throw new CertificateException(
          "server " + peer + " is not in this mesh's trust domain " + ours);
    }
    if (!expectedServer.matches(peer)) {
      throw new CertificateException("server " + peer + " is not the expected " + expectedServer);
    }
  }
}
