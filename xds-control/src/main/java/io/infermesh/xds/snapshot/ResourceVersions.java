package io.infermesh.xds.snapshot;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Content versions: the first 64 bits of a SHA-256 over the resources' deterministic encodings,
 * in hex. Equal resources always get equal versions, so republishing an unchanged mesh sends
 * nothing, and a control plane that restarts hands out the versions its clients already hold.
 *
 * <p>One instance serves one build: each resource is encoded and digested once even when several
 * groups share it (Envoy and gRPC groups share their load assignments). Not thread-safe.
 */
final class ResourceVersions {

  private final Map<Message, byte[]> digests = new IdentityHashMap<>();
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(4096);
  private final MessageDigest sha256 = sha256();

  String of(List<? extends Message> resources) {
    MessageDigest combined = sha256();
    for (Message m : resources) {
      combined.update(digest(m));
    }
    return HexFormat.of().formatHex(combined.digest(), 0, 8);
  }

  private byte[] digest(Message m) {
    byte[] cached = digests.get(m);
    if (cached != null) {
      return cached;
    }
    try {
      buffer.reset();
      CodedOutputStream out = CodedOutputStream.newInstance(buffer);
      out.useDeterministicSerialization();
      m.writeTo(out);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    sha256.reset();
    sha256.update(m.getDescriptorForType().getFullName().getBytes(StandardCharsets.UTF_8));
    sha256.update((byte) 0);
    sha256.update(buffer.toByteArray());
    byte[] d = sha256.digest();
    digests.put(m, d);
    return d;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK must provide SHA-256", e);
    }
  }
}
