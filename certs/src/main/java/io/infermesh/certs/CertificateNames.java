package io.infermesh.certs;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * The DNS and IP subject alternative names of a certificate, in order: what a renewal carries over
 * to the next certificate of the same identity.
 *
 * @param dnsNames lower case
 * @param ipAddresses parsed from the certificate's literals, never looked up
 */
record CertificateNames(List<String> dnsNames, List<InetAddress> ipAddresses) {
  private static final int DNS_NAME = 2;
  private static final int IP_ADDRESS = 7;

  CertificateNames {
    dnsNames = List.copyOf(dnsNames);
    ipAddresses = List.copyOf(ipAddresses);
  }

  /**
   * Reads {@code certificate}'s names.
   *
   * @throws IllegalArgumentException when its subject alternative names cannot be read
   */
  static CertificateNames of(X509Certificate certificate) {
    Collection<List<?>> sans;
    try {
      sans = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      throw new IllegalArgumentException("cannot read the subject alternative names of the certificate", e);
    }
    List<String> dns = new ArrayList<>();
    List<InetAddress> ips = new ArrayList<>();
    for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
      int kind = (Integer) san.get(0);
      if (kind == DNS_NAME) {
        dns.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
      } else if (kind == IP_ADDRESS) {
        try {
          ips.add(InetAddress.getByName((String) san.get(1))); // a literal (the JDK decoded the octets)
        } catch (UnknownHostException e) {
          throw new IllegalArgumentException("the certificate has a malformed IP address name", e);
        }
      }
    }
    return new CertificateNames(dns, ips);
  }
}
