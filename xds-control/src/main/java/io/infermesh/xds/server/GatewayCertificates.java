package io.infermesh.xds.server;

import static java.util.Objects.requireNonNull;

import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.xds.snapshot.SecretMaterial;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway identities the control plane serves over SDS, read from files issued ahead of time
 * — {@code infermesh certs issue --role gateway --region R --name N --out DIR} writes {@code
 * N.crt} and {@code N.key} — plus the trust bundle {@value #TRUST_BUNDLE}. The control plane never
 * holds the CA's private key and never mints a certificate: each gateway has its own, and its
 * key goes only to a caller presenting that same identity ({@code NodeTracker}).
 *
 * <p>Every {@code *.crt} of the directory (but the bundle) with a {@code .key} beside it whose
 * leaf carries a {@code gateway} SPIFFE ID of this trust domain, and is valid now, is served; the
 * rest is skipped with a log line. {@link #reload()} re-reads the directory, so a rotated or newly
 * issued certificate reaches its Envoy without a restart.
 *
 * <p>Thread-safe ({@link #current()} is lock-free; {@link #reload()} is synchronized).
 */
public final class GatewayCertificates {
  /** The trust bundle's file name in the directory. */
  public static final String TRUST_BUNDLE = "ca.crt";

  private static final Logger log = LoggerFactory.getLogger(GatewayCertificates.class);

  private final Path directory;
  private final String trustDomain;
  private final Clock clock;
  private volatile SecretMaterial current = SecretMaterial.none();

  public GatewayCertificates(Path directory, String trustDomain, Clock clock) {
    this.directory = requireNonNull(directory, "directory");
    this.trustDomain = requireNonNull(trustDomain, "trustDomain");
    this.clock = requireNonNull(clock, "clock");
  }

  /** The material last read; {@link SecretMaterial#none()} before the first {@link #reload()}. */
  public SecretMaterial current() {
    return current;
  }

  /** The directory read. */
  public Path directory() {
    return directory;
  }

  /**
   * Re-reads the directory.
   *
   * @return whether the material changed
   * @throws IOException when the directory or its trust bundle cannot be read
   */
  public synchronized boolean reload() throws IOException {
    Path bundleFile = directory.resolve(TRUST_BUNDLE);
    if (!Files.isRegularFile(bundleFile)) {
      throw new IOException(bundleFile + ": not found; control.gateway_certificates must hold the mesh trust bundle "
          + TRUST_BUNDLE + " (infermesh certs issue writes it beside each certificate)");
    }
    String bundle = Files.readString(bundleFile, StandardCharsets.US_ASCII);
    Map<String, SecretMaterial.Identity> identities = new TreeMap<>();
    List<Path> certificates;
    try (Stream<Path> files = Files.list(directory)) {
      certificates = files.filter(p -> p.getFileName().toString().endsWith(".crt"))
          .filter(p -> !p.getFileName().toString().equals(TRUST_BUNDLE)).sorted().toList();
    }
    Instant now = clock.instant();
    for (Path crt : certificates) {
      String file = crt.getFileName().toString();
      Path key = crt.resolveSibling(file.substring(0, file.length() - ".crt".length()) + ".key");
      if (!Files.isRegularFile(key)) {
        continue;
      }
      String chain = Files.readString(crt, StandardCharsets.US_ASCII);
      SpiffeId id;
      X509Certificate leaf;
      try {
        leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(chain.getBytes(StandardCharsets.US_ASCII)));
        id = SpiffeId.fromCertificate(leaf);
      } catch (CertificateException | IllegalArgumentException e) {
        log.warn("sds: skipping {}: not a mesh certificate ({})", crt, e.getMessage());
        continue;
      }
      if (id.role() != Role.GATEWAY || !id.trustDomain().equals(trustDomain)) {
        continue; // another role's credentials (the control plane's own, for one)
      }
      if (now.isAfter(leaf.getNotAfter().toInstant()) || now.isBefore(leaf.getNotBefore().toInstant())) {
        log.warn("sds: skipping {}: {} is valid only from {} to {}; reissue it with infermesh certs issue",
            crt, id, leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
        continue;
      }
      identities.put(id.toString(), new SecretMaterial.Identity(chain, Files.readString(key, StandardCharsets.US_ASCII)));
    }
    SecretMaterial next = new SecretMaterial(bundle, identities);
    if (next.equals(current)) {
      return false;
    }
    current = next;
    log.info("sds: serving the gateway identities {} from {}", identities.keySet(), directory);
    return true;
  }
}
