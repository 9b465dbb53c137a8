package io.infermesh.xds.snapshot;

import com.google.protobuf.Descriptors.Descriptor;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * A SHA-256 over a sequence of length-prefixed strings, ints and digests: the digest of a
 * resource composed from the inputs that shape it, with no encoding of the resource. The
 * encoding is injective (every string carries its length), so two sequences share a digest only
 * if they are equal. Fields are buffered and hashed in blocks rather than byte by byte. Reusable:
 * {@link #digest()} resets it. Not thread-safe.
 */
final class ComposedDigest {

  private final MessageDigest sha256 = ResourceVersions.sha256();
  private byte[] buffer = new byte[256];
  private int length;

  /** Starts a digest of a resource of this type. */
  ComposedDigest type(Descriptor type) {
    return string(type.getFullName());
  }

  ComposedDigest string(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8); // a copy, for the Latin-1 strings here: cheaper than a loop
    integer(utf8.length);
    ensure(utf8.length);
    System.arraycopy(utf8, 0, buffer, length, utf8.length);
    length += utf8.length;
    return this;
  }

  ComposedDigest integer(int i) {
    ensure(4);
    putInt(length, i);
    length += 4;
    return this;
  }

  /** Another digest (a part of this resource), 32 bytes. */
  ComposedDigest bytes(byte[] digest) {
    ensure(digest.length);
    System.arraycopy(digest, 0, buffer, length, digest.length);
    length += digest.length;
    return this;
  }

  /** The digest of everything fed since the last call; resets. */
  byte[] digest() {
    sha256.update(buffer, 0, length);
    length = 0;
    return sha256.digest();
  }

  private void putInt(int at, int i) {
    buffer[at] = (byte) (i >>> 24);
    buffer[at + 1] = (byte) (i >>> 16);
    buffer[at + 2] = (byte) (i >>> 8);
    buffer[at + 3] = (byte) i;
  }

  private void ensure(int more) {
    if (length + more > buffer.length) {
      if (length > 0 && more <= buffer.length) {
        sha256.update(buffer, 0, length);
        length = 0;
      } else {
        buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + more));
      }
    }
  }
}
