package io.infermesh.edge.http;

import io.infermesh.edge.config.EdgeConfig;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Jetty's HTTPS connector over an {@link SSLContext} that the caller keeps current (a {@code
 * ReloadingSslContext}): Jetty takes the context as it is instead of loading a key store, so a
 * rotated certificate reaches the next handshake without Jetty knowing. Stateless.
 */
final class HttpsConnector {
  private HttpsConnector() {}

  /**
   * A connector speaking HTTP/1.1 over TLS, on {@code selectors} selector threads.
   *
   * <p>SNI host checks are off: the certificate is whatever the files hold, and a client that
   * dials an address the certificate does not name is refused by its own host name check, not by
   * a 400 from the server.
   */
  static ServerConnector create(Server server, HttpConfiguration plain, SSLContext context,
      EdgeConfig.ClientAuth clientAuth, int selectors) {
    SslContextFactory.Server tls = new SslContextFactory.Server();
    tls.setSslContext(context);
    tls.setNeedClientAuth(clientAuth == EdgeConfig.ClientAuth.REQUIRE);
    tls.setWantClientAuth(clientAuth == EdgeConfig.ClientAuth.OPTIONAL);
    tls.setSniRequired(false);
    HttpConfiguration secure = new HttpConfiguration(plain);
    secure.setSecureScheme("https");
    SecureRequestCustomizer customizer = new SecureRequestCustomizer();
    customizer.setSniHostCheck(false);
    customizer.setSniRequired(false);
    secure.addCustomizer(customizer);
    return new ServerConnector(server, -1, selectors, new SslConnectionFactory(tls,
        HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory(secure));
  }
}
