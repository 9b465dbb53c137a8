package io.infermesh.edge.escalate;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * A static list of core addresses as one gRPC target, {@code infermesh-static:///h1:p1,h2:p2}:
 * the channel balances over them (round robin, skipping the ones that fail) and re-resolves the
 * host names when asked. Registered once in the default registry. Thread-safe.
 */
final class StaticTargets extends NameResolverProvider {
  static final String SCHEME = "infermesh-static";
  private static final StaticTargets INSTANCE = new StaticTargets();
  private static volatile boolean registered;

  /** The gRPC target for {@code targets} ({@code host:port} each), registering the scheme if needed. */
  static String target(List<String> targets) {
    if (!registered) {
      synchronized (StaticTargets.class) {
        if (!registered) {
          NameResolverRegistry.getDefaultRegistry().register(INSTANCE);
          registered = true;
        }
      }
    }
    for (String t : targets) {
      parse(t); // fail fast on a malformed entry
    }
    return SCHEME + ":///" + String.join(",", targets);
  }

  static InetSocketAddress parse(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new IllegalArgumentException("escalation.target: '" + hostPort + "' is not host:port");
    }
    try {
      return InetSocketAddress.createUnresolved(hostPort.substring(0, colon),
          Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("escalation.target: '" + hostPort + "' is not host:port", e);
    }
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public NameResolver newNameResolver(URI uri, NameResolver.Args args) {
    if (!SCHEME.equals(uri.getScheme())) {
      return null;
    }
    String[] entries = uri.getPath().replaceFirst("^/", "").split(",");
    return new NameResolver() {
      private Listener2 listener;

      @Override
      public String getServiceAuthority() {
        return entries[0];
      }

      @Override
      public void start(Listener2 l) {
        this.listener = l;
        resolve();
      }

      @Override
      public void refresh() {
        resolve();
      }

      private void resolve() {
        List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (String e : entries) {
          InetSocketAddress unresolved = parse(e);
          InetSocketAddress a = new InetSocketAddress(unresolved.getHostString(), unresolved.getPort());
          if (!a.isUnresolved()) {
            groups.add(new EquivalentAddressGroup(List.<SocketAddress>of(a)));
          }
        }
        if (groups.isEmpty()) {
          listener.onError(Status.UNAVAILABLE.withDescription("no address of " + String.join(",", entries)
              + " resolves"));
          return;
        }
        listener.onResult(ResolutionResult.newBuilder().setAddresses(groups).build());
      }

      @Override
      public void shutdown() {}
    };
  }
}
