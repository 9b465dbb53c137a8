package io.infermesh.edge.auth;

import io.infermesh.edge.config.EdgeConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Maps bearer API keys to tenants. Keys are held only as SHA-256 digests and looked up by digest,
 * so neither timing nor a heap dump gives a key away. Immutable; thread-safe.
 */
public final class ApiKeys {
  private final Map<String, Tenant> tenantsByDigest;
  private final List<Tenant> tenants;

  private ApiKeys(Map<String, Tenant> tenantsByDigest, List<Tenant> tenants) {
    this.tenantsByDigest = Map.copyOf(tenantsByDigest);
    this.tenants = List.copyOf(tenants);
  }

  /** The keys of {@code auth}; empty when it configures none. */
  public static ApiKeys of(EdgeConfig.Auth auth) {
    Map<String, Tenant> byDigest = new HashMap<>();
    List<Tenant> tenants = auth.tenants().stream()
        .map(t -> new Tenant(t.name(), t.requestsPerMinute(), t.tokensPerMinute()))
        .toList();
    for (int i = 0; i < tenants.size(); i++) {
      List<String> keys = auth.tenants().get(i).keys();
      for (int k = 0; k < keys.size(); k++) { // the audit names a key by its tenant and place, never itself
        byDigest.put(digest(keys.get(k)), tenants.get(i).calledBy("api-key:" + tenants.get(i).name() + "#" + k));
      }
    }
    return new ApiKeys(byDigest, tenants);
  }

  /** Whether any key is configured; when not, every request is {@link Tenant#ANONYMOUS}. */
  public boolean enabled() {
    return !tenantsByDigest.isEmpty();
  }

  /** Every configured tenant. */
  public List<Tenant> tenants() {
    return tenants;
  }

  /** The tenant owning {@code key}, if any. */
  public Optional<Tenant> tenantOf(String key) {
    return Optional.ofNullable(tenantsByDigest.get(digest(key)));
  }

  /**
   * The bearer token of an {@code Authorization} header value ({@code Bearer <key>}, the scheme
   * in any case), if it has one.
   */
  public static Optional<String> bearerToken(String authorization) {
    if (authorization == null) {
      return Optional.empty();
    }
    String value = authorization.strip();
    if (value.length() < 7 || !value.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
      return Optional.empty();
    }
    String token = value.substring(7).strip();
    return token.isEmpty() ? Optional.empty() : Optional.of(token);
  }

  private static String digest(String key) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }
}
