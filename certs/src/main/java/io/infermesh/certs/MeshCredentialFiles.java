package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * Where a process finds its mesh credentials: its certificate chain (leaf first), its private key,
 * and the trust bundle (the CA certificates it accepts peers from).
 *
 * @param certificateChain PEM certificates, the leaf first, e.g. {@code certs/edge-1.crt}
 * @param privateKey the leaf's PEM private key, e.g. {@code certs/edge-1.key}
 * @param trustBundle PEM CA certificates, e.g. {@code certs/ca.crt}
 */
public record MeshCredentialFiles(Path certificateChain, Path privateKey, Path trustBundle) {
  public MeshCredentialFiles {
    requireNonNull(certificateChain, "certificateChain");
    requireNonNull(privateKey, "privateKey");
    requireNonNull(trustBundle, "trustBundle");
  }

  /**
   * The files {@code infermesh certs issue} writes for {@code name}: {@code <directory>/<name>.crt},
   * {@code <directory>/<name>.key} and {@code <directory>/ca.crt}.
   */
  public static MeshCredentialFiles in(Path directory, String name) {
    requireNonNull(directory, "directory");
    requireNonNull(name, "name");
    return new MeshCredentialFiles(
        directory.resolve(name + ".crt"),
        directory.resolve(name + ".key"),
        directory.resolve(CertificateAuthority.CERTIFICATE_FILE));
  }
}
