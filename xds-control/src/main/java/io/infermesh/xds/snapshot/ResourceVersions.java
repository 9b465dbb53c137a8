package io.infermesh.xds.snapshot;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Content versions: a resource's digest is a SHA-256 over its type name and deterministic
 * encoding; a type's version is the first 64 bits, in hex, of a SHA-256 over its resources'
 * digests in order. Equal resources always get equal versions, so republishing an unchanged mesh
 * sends nothing, and a control plane that restarts hands out the versions its clients already
 * hold. Digests are computed once per resource and kept with it ({@link Versioned}), so a type's
 * version costs 32 bytes hashed per resource. A load assignment's digest is composed from its
 * endpoints' digests instead ({@link EndpointResources}). Stateless.
 */
final class ResourceVersions {

  // never updated: only cloned, which reads its (initial) state
  private static final MessageDigest SHA256 = newSha256();

  private ResourceVersions() {}

  /** The digest of one resource. */
  static byte[] digest(Message m) {
    byte[] encoded = new byte[m.getSerializedSize()];
    CodedOutputStream out = CodedOutputStream.newInstance(encoded);
    out.useDeterministicSerialization();
    try {
      m.writeTo(out);
    } catch (IOException e) {
      throw new IllegalStateException("encoding into an array of the right size cannot fail", e);
    }
    MessageDigest sha256 = sha256();
    sha256.update(m.getDescriptorForType().getFullName().getBytes(StandardCharsets.UTF_8));
    sha256.update((byte) 0);
    sha256.update(encoded);
    return sha256.digest();
  }

  /** The version of a resource type holding these resources, in this order. */
  static String of(List<? extends Versioned<?>> resources) {
    MessageDigest combined = sha256();
    for (Versioned<?> v : resources) {
      combined.update(v.digest());
    }
    return hex(combined.digest());
  }

  /** The first 64 bits of a digest in hex. */
  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest, 0, 8);
  }

  /** A fresh SHA-256: a clone of an unused prototype, cheaper than a provider look-up per digest. */
  static MessageDigest sha256() {
    try {
      return (MessageDigest) SHA256.clone();
    } catch (CloneNotSupportedException e) {
      return newSha256();
    }
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK must provide SHA-256", e);
    }
  }
}
