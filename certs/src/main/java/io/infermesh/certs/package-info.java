/**
 * The mesh PKI and mutual TLS: one CA per trust domain, SPIFFE identities for every process,
 * gRPC credentials that reload rotated files without a restart, and per-method authorization by
 * role.
 *
 * <p>Issuing: {@link io.infermesh.certs.CertificateAuthority} creates or loads a CA and issues
 * {@link io.infermesh.certs.IssuedCertificate leaves} for a {@link io.infermesh.certs.LeafRequest}.
 * Serving and calling: {@link io.infermesh.certs.MeshTls} turns {@link
 * io.infermesh.certs.MeshCredentialFiles} into gRPC credentials; {@link
 * io.infermesh.certs.MeshServer} starts a server with those credentials, the {@link
 * io.infermesh.certs.RoleAuthorizationInterceptor}, health and reflection; {@link
 * io.infermesh.certs.MeshChannels} opens channels that check the server's {@link
 * io.infermesh.certs.SpiffeId}.
 */
package io.infermesh.certs;
