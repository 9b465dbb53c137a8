package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The identity of a mesh process: {@code spiffe://<trust-domain>/<region>/<role>/<name>}, carried
 * as the only URI subject alternative name of its certificate (an X.509-SVID).
 *
 * <p>The trust domain is a lower-case DNS-like name ({@code mesh.local}); region and name are
 * lower-case DNS labels (letters, digits and {@code -}, 1 to 63 characters, starting and ending
 * with a letter or digit). Instances are immutable and validated when constructed.
 *
 * @param trustDomain the trust domain, e.g. {@code mesh.local}
 * @param region the region the process runs in, e.g. {@code us-east}
 * @param role what the process is
 * @param name the process's name, unique within its region and role, e.g. {@code edge-1}
 */
public record SpiffeId(String trustDomain, String region, Role role, String name) {
  /** The URI scheme of SPIFFE IDs. */
  public static final String SCHEME = "spiffe";

  private static final int MAX_LABEL = 63;
  private static final int MAX_TRUST_DOMAIN = 253;
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
  private static final String FORMAT = "spiffe://<trust-domain>/<region>/<role>/<name>";

  /** Validates every segment; messages name the segment that is wrong. */
  public SpiffeId {
    requireValidTrustDomain(trustDomain);
    requireValidLabel("region", region);
    requireNonNull(role, "role");
    requireValidLabel("name", name);
  }

  /**
   * Parses {@code spiffe://<trust-domain>/<region>/<role>/<name>}.
   *
   * @throws IllegalArgumentException saying which part is wrong
   */
  public static SpiffeId parse(String uri) {
    requireNonNull(uri, "uri");
    String prefix = SCHEME + "://";
    if (!uri.startsWith(prefix)) {
      throw new IllegalArgumentException(
          "not a SPIFFE ID: '" + uri + "': expected " + FORMAT);
    }
    String rest = uri.substring(prefix.length());
    if (rest.indexOf('?') >= 0 || rest.indexOf('#') >= 0) {
      throw new IllegalArgumentException(
          "not a SPIFFE ID: '" + uri + "': a SPIFFE ID has no query or fragment");
    }
    String[] parts = rest.split("/", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          "not a mesh SPIFFE ID: '" + uri + "': expected " + FORMAT);
    }
    String segment = parts[2];
    if (!LABEL.matcher(segment).matches()) {
      throw new IllegalArgumentException(
          "not a mesh SPIFFE ID: '" + uri + "': role '" + segment + "' must be one of "
              + Role.validNames());
    }
    Role role;
    try {
      role = Role.parse(segment);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a mesh SPIFFE ID: '" + uri + "': " + e.getMessage(), e);
    }
    try {
      return new SpiffeId(parts[0], parts[1], role, parts[3]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a mesh SPIFFE ID: '" + uri + "': " + e.getMessage(), e);
    }
  }

  /**
   * Reads the SPIFFE ID of an X.509-SVID: the certificate's one URI subject alternative name.
   *
   * @throws IllegalArgumentException when the certificate has no URI SAN, several, or one that
   *     is not a mesh SPIFFE ID
   */
  public static SpiffeId fromCertificate(X509Certificate certificate) {
    requireNonNull(certificate, "certificate");
    List<String> uris = uriSans(certificate);
    String subject = certificate.getSubjectX500Principal().getName();
    if (uris.isEmpty()) {
      throw new IllegalArgumentException(
          "certificate '" + subject + "' carries no SPIFFE ID (it has no URI subject alternative name)");
    }
    if (uris.size() > 1) {
      throw new IllegalArgumentException(
          "certificate '" + subject + "' has " + uris.size() + " URI subject alternative names "
              + uris + "; an X.509-SVID has exactly one");
    }
    return parse(uris.get(0));
  }

  /** The URI subject alternative names of a certificate, in order. */
  static List<String> uriSans(X509Certificate certificate) {
    Collection<List<?>> sans;
    try {
      sans = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      throw new IllegalArgumentException(
          "certificate '" + certificate.getSubjectX500Principal().getName()
              + "' has a malformed subject alternative name extension", e);
    }
    List<String> uris = new ArrayList<>();
    if (sans != null) {
      for (List<?> san : sans) {
        if (((Integer) san.get(0)) == 6) { // uniformResourceIdentifier
          uris.add((String) san.get(1));
        }
      }
    }
    return uris;
  }

  /** This ID as a URI. */
  public URI toUri() {
    return URI.create(toString());
  }

  /** {@code spiffe://<trust-domain>} — the ID of this identity's trust domain. */
  public String trustDomainUri() {
    return trustDomainUri(trustDomain);
  }

  static String trustDomainUri(String trustDomain) {
    return SCHEME + "://" + trustDomain;
  }

  @Override
  public String toString() {
    return trustDomainUri() + "/" + region + "/" + role.pathName() + "/" + name;
  }

  /**
   * Checks a trust domain name: dot-separated lower-case DNS labels, at most 253 characters.
   *
   * @return {@code trustDomain}
   */
  static String requireValidTrustDomain(String trustDomain) {
    requireNonNull(trustDomain, "trustDomain");
    boolean valid = !trustDomain.isEmpty() && trustDomain.length() <= MAX_TRUST_DOMAIN;
    if (valid) {
      for (String label : trustDomain.split("\\.", -1)) {
        if (label.length() > MAX_LABEL || !LABEL.matcher(label).matches()) {
          valid = false;
          break;
        }
      }
    }
    if (!valid) {
      throw new IllegalArgumentException(
          "trust domain '" + trustDomain + "' is invalid: use a lower-case DNS-like name such as"
              + " 'mesh.local' (letters, digits, '-' and '.', at most " + MAX_TRUST_DOMAIN
              + " characters)");
    }
    return trustDomain;
  }

  /**
   * Checks a region or name segment: a lower-case DNS label.
   *
   * @return {@code value}
   */
  static String requireValidLabel(String segment, String value) {
    requireNonNull(value, segment);
    if (value.length() > MAX_LABEL || !LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException(
          segment + " '" + value + "' is invalid: use 1 to " + MAX_LABEL
              + " lower-case letters, digits and '-', starting and ending with a letter or digit");
    }
    return value;
  }
}
