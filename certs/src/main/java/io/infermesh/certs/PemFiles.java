package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PEM encoding and the file rules of the mesh PKI: certificates are world-readable, private keys
 * are created 0600 from the start, every file is written to a temporary sibling and renamed into
 * place (so a reader never sees half a file), and nothing is replaced unless asked. Stateless.
 */
final class PemFiles {
  private static final Logger log = LoggerFactory.getLogger(PemFiles.class);
  private static final Set<PosixFilePermission> PRIVATE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC =
      PosixFilePermissions.fromString("rw-r--r--");

  private PemFiles() {}

  /** One file to write: its content and whether it holds a secret. */
  record Output(Path path, byte[] content, boolean secret) {
    Output {
      requireNonNull(path, "path");
      requireNonNull(content, "content");
    }
  }

  /** PEM bytes (US-ASCII) of certificates, in order. */
  static byte[] encodeCertificates(List<X509Certificate> certificates) {
    return encodeCertificatesText(certificates).getBytes(StandardCharsets.US_ASCII);
  }

  /** PEM text of certificates, in order. */
  static String encodeCertificatesText(List<X509Certificate> certificates) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      for (X509Certificate certificate : certificates) {
        writer.writeObject(certificate);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot PEM-encode a certificate", e);
    }
    return text.toString();
  }

  /** PEM bytes (US-ASCII) of an unencrypted PKCS#8 private key ({@code BEGIN PRIVATE KEY}). */
  static byte[] encodePrivateKey(PrivateKey key) {
    return encodePrivateKeyText(key).getBytes(StandardCharsets.US_ASCII);
  }

  /** PEM text of an unencrypted PKCS#8 private key ({@code BEGIN PRIVATE KEY}). */
  static String encodePrivateKeyText(PrivateKey key) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(new JcaPKCS8Generator(key, null));
    } catch (IOException e) {
      throw new IllegalStateException("cannot PEM-encode a private key", e);
    }
    return text.toString();
  }

  /** Reads every certificate in a PEM file, in order. */
  static List<X509Certificate> readCertificates(Path file) throws IOException {
    return decodeCertificates(file, read(file));
  }

  /**
   * The CA certificates of a trust bundle: every certificate in {@code pem} must be a CA (a leaf in
   * a trust bundle would be trusted to sign nothing and usually means the wrong file was copied).
   */
  static X509Certificate[] decodeTrustBundle(Path bundle, byte[] pem) throws IOException {
    List<X509Certificate> certificates = decodeCertificates(bundle, pem);
    for (X509Certificate certificate : certificates) {
      if (certificate.getBasicConstraints() < 0) {
        throw new IOException(bundle + ": '" + certificate.getSubjectX500Principal().getName()
            + "' is not a CA certificate; a trust bundle holds CA certificates only");
      }
    }
    return certificates.toArray(X509Certificate[]::new);
  }

  /**
   * Decodes every certificate in PEM bytes, in order.
   *
   * @param source names the bytes in error messages
   * @throws IOException naming {@code source} when there is no certificate or one is malformed
   */
  static List<X509Certificate> decodeCertificates(Path source, byte[] pem) throws IOException {
    List<X509Certificate> certificates = new ArrayList<>();
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    boolean sawPrivateKey = false;
    try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      Object object;
      while ((object = parser.readObject()) != null) {
        if (object instanceof X509CertificateHolder holder) {
          certificates.add(converter.getCertificate(holder));
        } else if (isPrivateKey(object)) {
          sawPrivateKey = true;
        }
      }
    } catch (IOException | CertificateException | RuntimeException e) {
      throw new IOException(source + ": not a valid PEM certificate file (" + e.getMessage() + ")", e);
    }
    if (certificates.isEmpty()) {
      throw new IOException(source + (sawPrivateKey
          ? ": holds a private key, not a certificate"
          : ": holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----')"));
    }
    return List.copyOf(certificates);
  }

  /** Reads the one private key of a PEM file (PKCS#8 or SEC1 EC, unencrypted). */
  static PrivateKey readPrivateKey(Path file) throws IOException {
    return decodePrivateKey(file, read(file));
  }

  /**
   * Decodes the one private key in PEM bytes.
   *
   * @param source names the bytes in error messages
   * @throws IOException naming {@code source} when there is no key, several, or an encrypted one
   */
  static PrivateKey decodePrivateKey(Path source, byte[] pem) throws IOException {
    List<PrivateKeyInfo> keys = new ArrayList<>();
    boolean encrypted = false;
    try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      Object object;
      while ((object = parser.readObject()) != null) {
        if (object instanceof PrivateKeyInfo info) {
          keys.add(info);
        } else if (object instanceof PEMKeyPair pair) {
          keys.add(pair.getPrivateKeyInfo());
        } else if (object instanceof PEMEncryptedKeyPair || object instanceof PKCS8EncryptedPrivateKeyInfo) {
          encrypted = true;
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new IOException(source + ": not a valid PEM private key file (" + e.getMessage() + ")", e);
    }
    if (encrypted) {
      throw new IOException(source + ": the private key is encrypted; mesh keys must be unencrypted PEM"
          + " (protect them with file permissions)");
    }
    if (keys.size() != 1) {
      throw new IOException(source + (keys.isEmpty()
          ? ": holds no PEM private key (expected '-----BEGIN PRIVATE KEY-----')"
          : ": holds " + keys.size() + " private keys; expected exactly one"));
    }
    try {
      return new JcaPEMKeyConverter().getPrivateKey(keys.get(0));
    } catch (IOException e) {
      throw new IOException(source + ": unsupported private key (" + e.getMessage() + ")", e);
    }
  }

  private static boolean isPrivateKey(Object object) {
    return object instanceof PrivateKeyInfo || object instanceof PEMKeyPair
        || object instanceof PEMEncryptedKeyPair || object instanceof PKCS8EncryptedPrivateKeyInfo;
  }

  static byte[] read(Path file) throws IOException {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "file not found");
    }
  }

  /**
   * Throws when {@code overwrite} is false and one of the outputs exists. Called before writing
   * anything, so that a refused write leaves no file behind.
   */
  static void refuseExisting(List<Output> outputs, boolean overwrite) throws FileAlreadyExistsException {
    if (overwrite) {
      return;
    }
    for (Output output : outputs) {
      if (Files.exists(output.path(), LinkOption.NOFOLLOW_LINKS)) {
        throw new FileAlreadyExistsException(output.path().toString(), null,
            "already exists");
      }
    }
  }

  /**
   * Writes the outputs in order, each atomically (temporary sibling, then rename). Secrets are
   * created with mode 0600 before any byte is written; other files get 0644.
   */
  static void write(List<Output> outputs, boolean overwrite) throws IOException {
    refuseExisting(outputs, overwrite);
    for (Output output : outputs) {
      writeOne(output, overwrite);
    }
  }

  private static void writeOne(Output output, boolean overwrite) throws IOException {
    Path target = output.path().toAbsolutePath();
    Path directory = target.getParent();
    Files.createDirectories(directory);
    boolean posix = Files.getFileStore(directory).supportsFileAttributeView(PosixFileAttributeView.class);
    FileAttribute<?>[] attributes = posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(output.secret() ? PRIVATE : PUBLIC)}
        : new FileAttribute<?>[0];
    if (!posix && output.secret()) {
      log.warn("{}: this file system has no POSIX permissions; restrict access to the private key by hand",
          target);
    }
    Path temporary = Files.createTempFile(directory, "." + target.getFileName() + ".", ".tmp", attributes);
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(output.content());
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        channel.force(true);
      }
      if (overwrite) {
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.move(temporary, target);
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
  }
}
