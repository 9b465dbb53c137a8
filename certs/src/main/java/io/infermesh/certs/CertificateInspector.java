package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.nist.NISTNamedCurves;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;

/**
 * Describes certificates for people: subject, issuer, serial, SPIFFE ID and other subject
 * alternative names, validity (and whether it is expired now), CA or leaf, key, key usages and the
 * SHA-256 fingerprint. Never prints key material. Immutable and thread-safe.
 */
public final class CertificateInspector {
  private static final String[] KEY_USAGES = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"
  };
  private static final Map<String, String> EXTENDED_KEY_USAGES = Map.of(
      "1.3.6.1.5.5.7.3.1", "serverAuth",
      "1.3.6.1.5.5.7.3.2", "clientAuth",
      "1.3.6.1.5.5.7.3.3", "codeSigning",
      "1.3.6.1.5.5.7.3.4", "emailProtection",
      "1.3.6.1.5.5.7.3.8", "timeStamping",
      "1.3.6.1.5.5.7.3.9", "OCSPSigning");

  private final Clock clock;

  private CertificateInspector(Clock clock) {
    this.clock = requireNonNull(clock, "clock");
  }

  /** An inspector that judges expiry by {@code clock}. */
  public static CertificateInspector of(Clock clock) {
    return new CertificateInspector(clock);
  }

  /**
   * Describes every certificate in a PEM file (a leaf chain, a CA, a trust bundle).
   *
   * @throws IOException naming the file when it is missing or holds no certificate (including
   *     when it holds a private key instead)
   */
  public String describe(Path file) throws IOException {
    requireNonNull(file, "file");
    List<X509Certificate> certificates = PemFiles.readCertificates(file);
    return file + ": " + certificates.size() + (certificates.size() == 1 ? " certificate" : " certificates")
        + System.lineSeparator() + describe(certificates);
  }

  /** Describes certificates in order, one block each. */
  public String describe(List<X509Certificate> certificates) {
    requireNonNull(certificates, "certificates");
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < certificates.size(); i++) {
      if (i > 0) {
        out.append(System.lineSeparator());
      }
      X509Certificate certificate = certificates.get(i);
      boolean ca = certificate.getBasicConstraints() >= 0;
      out.append('[').append(i + 1).append("] ").append(ca ? "CA certificate" : "leaf certificate")
          .append(System.lineSeparator());
      describeOne(certificate, out);
    }
    return out.toString();
  }

  private void describeOne(X509Certificate certificate, StringBuilder out) {
    line(out, "subject", certificate.getSubjectX500Principal().getName());
    line(out, "issuer", certificate.getIssuerX500Principal().getName());
    line(out, "serial", serial(certificate));
    line(out, "identity", identity(certificate));
    List<String> dns = new ArrayList<>();
    List<String> ips = new ArrayList<>();
    List<String> uris = new ArrayList<>();
    sans(certificate, dns, ips, uris);
    if (!uris.isEmpty()) {
      line(out, "URI SANs", String.join(", ", uris));
    }
    line(out, "DNS SANs", dns.isEmpty() ? "(none)" : String.join(", ", dns));
    line(out, "IP SANs", ips.isEmpty() ? "(none)" : String.join(", ", ips));
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant notAfter = certificate.getNotAfter().toInstant();
    line(out, "not before", notBefore.toString());
    line(out, "not after", notAfter.toString());
    line(out, "status", status(notBefore, notAfter));
    int pathLength = certificate.getBasicConstraints();
    line(out, "CA", pathLength < 0 ? "no"
        : "yes" + (pathLength == Integer.MAX_VALUE ? "" : " (path length " + pathLength + ")"));
    line(out, "key", key(certificate));
    line(out, "signature", certificate.getSigAlgName());
    line(out, "key usage", keyUsage(certificate));
    line(out, "ext key usage", extendedKeyUsage(certificate));
    line(out, "SHA-256", fingerprint(certificate));
  }

  private static String identity(X509Certificate certificate) {
    if (certificate.getBasicConstraints() >= 0) {
      for (String uri : SpiffeId.uriSans(certificate)) {
        if (uri.startsWith(SpiffeId.SCHEME + "://")) {
          return uri + " (trust domain " + uri.substring(SpiffeId.SCHEME.length() + 3) + ")";
        }
      }
      return "(none: no spiffe:// URI SAN)";
    }
    try {
      SpiffeId id = SpiffeId.fromCertificate(certificate);
      return id + " (region " + id.region() + ", role " + id.role() + ", name " + id.name() + ")";
    } catch (IllegalArgumentException e) {
      return "(not a mesh identity: " + e.getMessage() + ")";
    }
  }

  private static void sans(X509Certificate certificate, List<String> dns, List<String> ips, List<String> uris) {
    Collection<List<?>> names;
    try {
      names = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      uris.add("(malformed subject alternative names)");
      return;
    }
    if (names == null) {
      return;
    }
    for (List<?> name : names) {
      switch ((Integer) name.get(0)) {
        case 2 -> dns.add(String.valueOf(name.get(1)));
        case 6 -> uris.add(String.valueOf(name.get(1)));
        case 7 -> ips.add(String.valueOf(name.get(1)));
        default -> { }
      }
    }
  }

  private String status(Instant notBefore, Instant notAfter) {
    Instant now = clock.instant();
    if (now.isBefore(notBefore)) {
      return "NOT YET VALID (starts in " + human(Duration.between(now, notBefore)) + ")";
    }
    if (now.isAfter(notAfter)) {
      return "EXPIRED (" + human(Duration.between(notAfter, now)) + " ago)";
    }
    return "valid (expires in " + human(Duration.between(now, notAfter)) + ")";
  }

  private static String human(Duration duration) {
    long days = duration.toDays();
    if (days >= 2) {
      return days + " days";
    }
    long hours = duration.toHours();
    if (hours >= 2) {
      return hours + " hours";
    }
    return Math.max(duration.toMinutes(), 0) + " minutes";
  }

  private static String key(X509Certificate certificate) {
    PublicKey key = certificate.getPublicKey();
    if (key instanceof ECPublicKey) {
      return "EC " + curveName(key);
    }
    if (key instanceof RSAPublicKey rsa) {
      return "RSA " + rsa.getModulus().bitLength() + " bits";
    }
    return key.getAlgorithm();
  }

  private static String curveName(PublicKey key) {
    try {
      SubjectPublicKeyInfo info = SubjectPublicKeyInfo.getInstance(key.getEncoded());
      if (info.getAlgorithm().getParameters() instanceof ASN1ObjectIdentifier oid) {
        String nist = NISTNamedCurves.getName(oid);
        if (nist != null) {
          return nist;
        }
        String name = ECNamedCurveTable.getName(oid);
        return name != null ? name : oid.getId();
      }
    } catch (RuntimeException e) {
      // Fall through: an unusual encoding is described generically.
    }
    return "(explicit curve parameters)";
  }

  private static String keyUsage(X509Certificate certificate) {
    boolean[] usage = certificate.getKeyUsage();
    if (usage == null) {
      return "(not restricted)";
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < usage.length && i < KEY_USAGES.length; i++) {
      if (usage[i]) {
        names.add(KEY_USAGES[i]);
      }
    }
    return String.join(", ", names);
  }

  private static String extendedKeyUsage(X509Certificate certificate) {
    try {
      List<String> oids = certificate.getExtendedKeyUsage();
      if (oids == null) {
        return "(not restricted)";
      }
      return String.join(", ", oids.stream().map(oid -> EXTENDED_KEY_USAGES.getOrDefault(oid, oid)).toList());
    } catch (CertificateParsingException e) {
      return "(malformed)";
    }
  }

  private static String fingerprint(X509Certificate certificate) {
    try {
      return colonHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      return "(unavailable: " + e.getMessage() + ")";
    }
  }

  private static String serial(X509Certificate certificate) {
    byte[] bytes = certificate.getSerialNumber().toByteArray();
    if (bytes.length > 1 && bytes[0] == 0) { // the sign byte of a positive BigInteger
      bytes = Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    return colonHex(bytes);
  }

  private static String colonHex(byte[] bytes) {
    return HexFormat.ofDelimiter(":").withUpperCase().formatHex(bytes);
  }

  private static void line(StringBuilder out, String label, String value) {
    out.append(String.format(Locale.ROOT, "  %-14s %s%n", label, value));
  }
}
