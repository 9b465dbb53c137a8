package io.infermesh.xds.snapshot;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.ResourceVersionResolver;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * One resource type's resources under one version, indexed by name in the order given: what
 * {@link SnapshotResources#create} builds, but with maps sized up front and names read by the
 * caller's function instead of probed per resource (the library grows an immutable map and tests
 * each resource's type), which was a tenth of a full build; {@link #resources()} is a view of
 * the same index. Immutable.
 */
final class ResourceCollection<T extends Message> extends SnapshotResources<T> {

  private final Map<String, VersionedResource<T>> versioned;
  private final Map<String, T> resources;
  private final String version;

  private ResourceCollection(Map<String, VersionedResource<T>> versioned, Map<String, T> resources, String version) {
    this.versioned = versioned;
    this.resources = resources;
    this.version = version;
  }

  /** The resources, named by {@code name}, under their type's content version ({@link ResourceVersions#of}). */
  static <T extends Message> ResourceCollection<T> of(List<Versioned<T>> list, Function<T, String> name) {
    Map<String, VersionedResource<T>> versioned = new LinkedHashMap<>(capacity(list.size()));
    for (Versioned<T> v : list) {
      versioned.put(name.apply(v.resource()), v.versioned());
    }
    Map<String, VersionedResource<T>> byName = Collections.unmodifiableMap(versioned);
    return new ResourceCollection<>(byName, new ResourceView<>(byName), ResourceVersions.of(list));
  }

  /** {@link #resources()} as a read-only view of the versioned map: one index, not two. */
  private static final class ResourceView<T extends Message> extends AbstractMap<String, T> {

    private final Map<String, VersionedResource<T>> versioned;
    private final Set<Map.Entry<String, T>> entries;

    ResourceView(Map<String, VersionedResource<T>> versioned) {
      this.versioned = versioned;
      this.entries = new AbstractSet<>() {
        @Override
        public Iterator<Map.Entry<String, T>> iterator() {
          Iterator<Map.Entry<String, VersionedResource<T>>> it = versioned.entrySet().iterator();
          return new Iterator<>() {
            @Override
            public boolean hasNext() {
              return it.hasNext();
            }

            @Override
            public Map.Entry<String, T> next() {
              Map.Entry<String, VersionedResource<T>> e = it.next();
              return new SimpleImmutableEntry<>(e.getKey(), e.getValue().resource());
            }
          };
        }

        @Override
        public int size() {
          return versioned.size();
        }
      };
    }

    @Override
    public T get(Object name) {
      VersionedResource<T> v = versioned.get(name);
      return v == null ? null : v.resource();
    }

    @Override
    public boolean containsKey(Object name) {
      return versioned.containsKey(name);
    }

    @Override
    public Set<String> keySet() {
      return versioned.keySet();
    }

    @Override
    public int size() {
      return versioned.size();
    }

    @Override
    public Set<Map.Entry<String, T>> entrySet() {
      return entries;
    }
  }

  private static int capacity(int size) {
    return (int) (size / 0.75f) + 1;
  }

  @Override
  public Map<String, VersionedResource<T>> versionedResources() {
    return versioned;
  }

  @Override
  public Map<String, T> resources() {
    return resources;
  }

  @Override
  public ResourceVersionResolver resourceVersionResolver() {
    return names -> version;
  }
}
