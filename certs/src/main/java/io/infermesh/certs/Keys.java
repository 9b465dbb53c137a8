package io.infermesh.certs;

import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;

/** Key generation and the key/certificate pairing check. Stateless and thread-safe. */
final class Keys {
  /** The JCA name of NIST P-256, the curve of every mesh key. */
  static final String CURVE = "secp256r1";
  /** The signature algorithm the CA signs with. */
  static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private static final byte[] PROBE = "infermesh key pairing probe".getBytes(StandardCharsets.US_ASCII);

  private static final ECParameterSpec P256 = p256();

  private Keys() {}

  private static ECParameterSpec p256() {
    try {
      AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
      parameters.init(new ECGenParameterSpec(CURVE));
      return parameters.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM does not know the curve " + CURVE, e);
    }
  }

  /** Whether {@code key} is an EC key on NIST P-256 (the only keys the mesh CA certifies). */
  static boolean isEcP256(PublicKey key) {
    return key instanceof ECPublicKey ec
        && ec.getParams().getCurve().equals(P256.getCurve())
        && ec.getParams().getGenerator().equals(P256.getGenerator())
        && ec.getParams().getOrder().equals(P256.getOrder());
  }

  /** A fresh ECDSA P-256 key pair. */
  static KeyPair newEcP256(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(CURVE), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot generate ECDSA P-256 keys", e);
    }
  }

  /**
   * Whether {@code privateKey} is the private half of {@code publicKey}, checked by signing a
   * probe and verifying it (works for EC, RSA and EdDSA keys alike).
   */
  static boolean matches(PrivateKey privateKey, PublicKey publicKey) {
    String algorithm = switch (publicKey.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      case "Ed448" -> "Ed448";
      default -> null;
    };
    if (algorithm == null) {
      return false;
    }
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(PROBE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(PROBE);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false; // e.g. an RSA private key offered for an EC certificate
    }
  }
}
