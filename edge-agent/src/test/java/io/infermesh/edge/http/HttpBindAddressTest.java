package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The bind-address rule of the HTTP API, without sockets. */
class HttpBindAddressTest {
  private static final EdgeConfig.HttpTls SERVER_ONLY = EdgeConfig.HttpTls.serverOnly(Path.of("e.crt"), Path.of("e.key"));
  private static final EdgeConfig.HttpTls MUTUAL = EdgeConfig.HttpTls.builder(Path.of("e.crt"), Path.of("e.key"))
      .clientCa(Path.of("ca.crt")).clientAuth(EdgeConfig.ClientAuth.REQUIRE).build();

  private static EdgeConfig.Http http(String host, Optional<EdgeConfig.HttpTls> tls, boolean allowPlaintext) {
    return EdgeConfig.Http.builder().host(host).tls(tls).allowPlaintext(allowPlaintext).build();
  }

  @Test
  void of_loopback_isUsedAsConfigured_evenInPlaintext() {
    assertThat(HttpBindAddress.of(http("127.0.0.1", Optional.empty(), false), true)).isEqualTo("127.0.0.1");
    assertThat(HttpBindAddress.of(http("localhost", Optional.empty(), false), true)).isEqualTo("localhost");
    assertThat(HttpBindAddress.of(http("::1", Optional.empty(), false), false)).isEqualTo("::1");
  }

  @Test
  void of_noKeysNoClientCertificates_fallsBackToLoopback() {
    assertThat(HttpBindAddress.of(http("0.0.0.0", Optional.of(SERVER_ONLY), false), false)).isEqualTo("127.0.0.1");
    assertThat(HttpBindAddress.of(http("0.0.0.0", Optional.empty(), true), false)).isEqualTo("127.0.0.1");
  }

  @Test
  void of_tls_exposesTheConfiguredHost() {
    assertThat(HttpBindAddress.of(http("0.0.0.0", Optional.of(SERVER_ONLY), false), true)).isEqualTo("0.0.0.0");
    assertThat(HttpBindAddress.of(http("0.0.0.0", Optional.of(MUTUAL), false), false))
        .as("required client certificates authenticate without keys").isEqualTo("0.0.0.0");
  }

  @Test
  void of_plaintextBeyondLoopback_isRefusedUnlessAllowed() {
    assertThatThrownBy(() -> HttpBindAddress.of(http("0.0.0.0", Optional.empty(), false), true))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("http.host: is 0.0.0.0, which is not loopback, and http.tls is not set");
    assertThatThrownBy(() -> HttpBindAddress.of(http("10.1.2.3", Optional.empty(), false), true))
        .hasMessageContaining("http.allow_plaintext: true");
    assertThat(HttpBindAddress.of(http("0.0.0.0", Optional.empty(), true), true)).isEqualTo("0.0.0.0");
  }
}
