package io.infermesh.xds.snapshot;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.VersionedResource;

/**
 * A built resource with its content digest and the per-resource version handed to the cache
 * (delta xDS resends a resource only when that version changes). Built once per resource and
 * shared by every group that holds it. Immutable (the digest is never handed out to be changed).
 */
final class Versioned<T extends Message> {

  private final byte[] digest;
  private final VersionedResource<T> versioned;

  private Versioned(T resource, byte[] digest) {
    this.digest = digest;
    this.versioned = VersionedResource.create(resource, ResourceVersions.hex(digest));
  }

  static <T extends Message> Versioned<T> of(T resource) {
    return new Versioned<>(resource, ResourceVersions.digest(resource));
  }

  /** With a digest its builder composed (it must change exactly when the resource does). */
  static <T extends Message> Versioned<T> of(T resource, byte[] digest) {
    return new Versioned<>(resource, digest.clone());
  }

  T resource() {
    return versioned.resource();
  }

  /** Read-only by contract: {@link ResourceVersions} hashes it. */
  byte[] digest() {
    return digest;
  }

  VersionedResource<T> versioned() {
    return versioned;
  }
}
