package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.node.config.ConfigException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which address the HTTP API may bind, given who could reach it and whether what crosses the
 * network is encrypted. API keys and prompts must not cross a network in the clear, and an API
 * nobody has to authenticate to must not be reachable from one:
 *
 * <ol>
 *   <li>a loopback {@code http.host} is used as it is (plain HTTP is fine there);
 *   <li>without API keys and without required client certificates, loopback is used instead, with
 *       a warning that says how to expose the API;
 *   <li>with {@code http.tls}, the configured host is used;
 *   <li>with {@code http.allow_plaintext: true} (TLS ends in front of the agent), it is used with a
 *       warning;
 *   <li>otherwise the agent refuses to start, and the message lists the three ways out.
 * </ol>
 *
 * Stateless; resolves host names (a name that does not resolve counts as not loopback).
 */
public final class HttpBindAddress {
  private static final Logger log = LoggerFactory.getLogger(HttpBindAddress.class);
  private static final String LOOPBACK = "127.0.0.1";

  private HttpBindAddress() {}

  /**
   * The address to bind.
   *
   * @param apiKeys whether requests must carry an API key ({@code auth.tenants} is not empty)
   * @throws ConfigException naming {@code http.host} when it is not loopback, requests are
   *     authenticated, and neither {@code http.tls} nor {@code http.allow_plaintext} is set
   */
  public static String of(EdgeConfig.Http http, boolean apiKeys) {
    requireNonNull(http, "http");
    String host = http.host();
    if (isLoopback(host)) {
      return host;
    }
    boolean clientCertificates = http.tls().map(t -> t.clientAuth() == EdgeConfig.ClientAuth.REQUIRE).orElse(false);
    if (!apiKeys && !clientCertificates) {
      log.warn("no API keys configured (auth.tenants is empty) and no client certificates required: the HTTP API"
          + " listens on {} only, not {}; add keys to edge.yaml (or http.tls.client_auth: require) to expose it",
          LOOPBACK, host);
      return LOOPBACK;
    }
    if (http.secure()) {
      return host;
    }
    if (http.allowPlaintext()) {
      log.warn("serving plain HTTP on {} (http.allow_plaintext: true): API keys and prompts are not encrypted"
          + " between the client and this agent unless TLS ends in front of it", host);
      return host;
    }
    throw new ConfigException("http.host", "is " + host + ", which is not loopback, and http.tls is not set:"
        + " API keys and prompts would cross the network unencrypted, so the agent does not start. Either serve"
        + " HTTPS (set http.tls.cert and http.tls.key, e.g. from `infermesh certs issue --role edge --dns"
        + " <name clients dial>`), or bind loopback only (http.host: 127.0.0.1), or, when TLS ends in front of"
        + " the agent (a sidecar, a load balancer), set http.allow_plaintext: true");
  }

  /** Whether {@code host} is {@code localhost} or resolves to a loopback address. */
  public static boolean isLoopback(String host) {
    if ("localhost".equalsIgnoreCase(host)) {
      return true;
    }
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
