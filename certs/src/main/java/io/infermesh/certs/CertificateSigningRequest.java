package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A PKCS#10 certificate signing request for a mesh identity: an EC P-256 public key, signed with
 * its private key, asking for a SPIFFE ID (the one URI subject alternative name) and optionally
 * DNS and IP names. What a device sends the signer to renew its certificate
 * ({@code infermesh.v1.CertificateSigner/Renew}).
 *
 * <p>{@link #parse(byte[])} checks everything a signer needs before it trusts a word of the
 * request: the size bound, the DER structure, proof of possession (the signature verifies with
 * the request's own key), the key type, and the names. Immutable and thread-safe.
 */
public final class CertificateSigningRequest {
  /** The largest DER request accepted (a P-256 request with a few names is well under 1 KiB). */
  public static final int MAX_ENCODED_BYTES = 16 * 1024;
  /** The most DNS plus IP names a request may carry. */
  public static final int MAX_NAMES = 32;

  private final byte[] encoded;
  private final PublicKey publicKey;
  private final SpiffeId spiffeId;
  private final List<String> dnsNames;
  private final List<InetAddress> ipAddresses;

  private CertificateSigningRequest(byte[] encoded, PublicKey publicKey, SpiffeId spiffeId, List<String> dnsNames,
      List<InetAddress> ipAddresses) {
    this.encoded = encoded;
    this.publicKey = publicKey;
    this.spiffeId = spiffeId;
    this.dnsNames = List.copyOf(dnsNames);
    this.ipAddresses = List.copyOf(ipAddresses);
  }

  /**
   * A request for {@code id} (and the given DNS and IP names), signed with {@code keys}: a device
   * makes one with a fresh key pair for each renewal.
   *
   * @throws IllegalArgumentException when the key pair is not EC P-256
   */
  public static CertificateSigningRequest create(SpiffeId id, List<String> dnsNames, List<InetAddress> ipAddresses,
      KeyPair keys) {
    requireNonNull(id, "id");
    requireNonNull(dnsNames, "dnsNames");
    requireNonNull(ipAddresses, "ipAddresses");
    requireNonNull(keys, "keys");
    requireP256(keys.getPublic());
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString()));
    dnsNames.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
    ipAddresses.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip.getHostAddress())));
    try {
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      extensions.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(names.toArray(GeneralName[]::new)));
      PKCS10CertificationRequest request = new JcaPKCS10CertificationRequestBuilder(
          new X500Name("O=infermesh,CN=" + id.name()), keys.getPublic())
          .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
          .build(new JcaContentSignerBuilder(Keys.SIGNATURE_ALGORITHM).build(keys.getPrivate()));
      return parse(request.getEncoded());
    } catch (IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot build a certificate signing request for " + id, e);
    }
  }

  /**
   * Decodes and checks a DER request.
   *
   * @throws IllegalArgumentException saying what is wrong: too large, not DER PKCS#10, a signature
   *     that does not verify with the request's own key, a key that is not EC P-256, not exactly
   *     one URI name or one that is not a mesh SPIFFE ID, too many names, or a name of another kind
   */
  public static CertificateSigningRequest parse(byte[] der) {
    requireNonNull(der, "der");
    if (der.length == 0) {
      throw new IllegalArgumentException("the certificate signing request is empty");
    }
    if (der.length > MAX_ENCODED_BYTES) {
      throw new IllegalArgumentException("the certificate signing request is " + der.length
          + " bytes; at most " + MAX_ENCODED_BYTES + " are accepted");
    }
    JcaPKCS10CertificationRequest request;
    PublicKey key;
    try {
      request = new JcaPKCS10CertificationRequest(der);
      key = request.getPublicKey();
    } catch (IOException | NoSuchAlgorithmException | InvalidKeyException | RuntimeException e) {
      throw new IllegalArgumentException("not a DER PKCS#10 certificate signing request", e);
    }
    requireP256(key);
    try {
      ContentVerifierProvider verifier = new JcaContentVerifierProviderBuilder().build(key);
      if (!request.isSignatureValid(verifier)) {
        throw new IllegalArgumentException("the certificate signing request's signature does not verify with"
            + " its own public key (no proof of possession of the private key)");
      }
    } catch (OperatorCreationException | PKCSException e) {
      throw new IllegalArgumentException("the certificate signing request's signature cannot be checked", e);
    }
    List<String> uris = new ArrayList<>();
    LinkedHashSet<String> dns = new LinkedHashSet<>();
    LinkedHashSet<InetAddress> ips = new LinkedHashSet<>();
    for (GeneralName name : requestedNames(request)) {
      if (uris.size() + dns.size() + ips.size() > MAX_NAMES) {
        throw new IllegalArgumentException("the certificate signing request names more than " + MAX_NAMES
            + " subject alternative names");
      }
      switch (name.getTagNo()) {
        case GeneralName.uniformResourceIdentifier -> uris.add(text(name));
        case GeneralName.dNSName -> dns.add(text(name).toLowerCase(Locale.ROOT));
        case GeneralName.iPAddress -> ips.add(address(name));
        default -> throw new IllegalArgumentException("the certificate signing request asks for a subject"
            + " alternative name of kind " + name.getTagNo() + "; only URI, DNS and IP names are issued");
      }
    }
    if (uris.size() != 1) {
      throw new IllegalArgumentException("the certificate signing request has " + uris.size()
          + " URI subject alternative names; it must name exactly one SPIFFE ID");
    }
    SpiffeId id = SpiffeId.parse(uris.get(0));
    return new CertificateSigningRequest(der.clone(), key, id, List.copyOf(dns), List.copyOf(ips));
  }

  private static List<GeneralName> requestedNames(PKCS10CertificationRequest request) {
    List<GeneralName> names = new ArrayList<>();
    for (Attribute attribute : request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      for (ASN1Encodable value : attribute.getAttributeValues()) {
        Extension san = Extensions.getInstance(value).getExtension(Extension.subjectAlternativeName);
        if (san != null) {
          names.addAll(List.of(GeneralNames.getInstance(san.getParsedValue()).getNames()));
        }
      }
    }
    return names;
  }

  private static String text(GeneralName name) {
    return ((ASN1String) name.getName()).getString();
  }

  private static InetAddress address(GeneralName name) {
    byte[] octets = ASN1OctetString.getInstance(name.getName()).getOctets();
    try {
      return InetAddress.getByAddress(octets); // raw octets: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("the certificate signing request has a malformed IP address name", e);
    }
  }

  private static void requireP256(PublicKey key) {
    if (!Keys.isEcP256(key)) {
      throw new IllegalArgumentException("the certificate signing request's key must be EC P-256, got "
          + key.getAlgorithm());
    }
  }

  /** The DER encoding, as sent on the wire. */
  public byte[] encoded() {
    return encoded.clone();
  }

  /** The key the certificate will certify; its private half signed this request. */
  public PublicKey publicKey() {
    return publicKey;
  }

  /** The one SPIFFE ID the request asks for. */
  public SpiffeId spiffeId() {
    return spiffeId;
  }

  /** The DNS names asked for, lower case, in order, without duplicates. */
  public List<String> dnsNames() {
    return dnsNames;
  }

  /** The IP addresses asked for, in order, without duplicates. */
  public List<InetAddress> ipAddresses() {
    return ipAddresses;
  }

  @Override
  public String toString() {
    return "CertificateSigningRequest{" + spiffeId + ", dns=" + dnsNames + ", ip="
        + ipAddresses.stream().map(InetAddress::getHostAddress).toList() + "}";
  }
}
