package io.infermesh.edge.auth.jwt;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.jwk.JWKSet;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import javax.net.ssl.SSLContext;

/**
 * Where a JWKS comes from. {@link #fetch()} returns the public keys only (private members dropped)
 * and throws on anything but a readable key set, so that a cache keeps its last good keys.
 */
@FunctionalInterface
public interface JwksSource {
  /** The largest JWKS document read: a key set is a few KB; a bigger answer is refused. */
  int MAX_BYTES = 1 << 20;

  JWKSet fetch() throws IOException;

  /** A JWKS file (re-read at each fetch). */
  static JwksSource file(Path path) {
    requireNonNull(path, "path");
    return () -> {
      if (Files.size(path) > MAX_BYTES) {
        throw new IOException("JWKS file " + path + " is over " + MAX_BYTES + " bytes");
      }
      return parse(Files.readString(path, StandardCharsets.UTF_8), path.toString());
    };
  }

  /**
   * A JWKS over HTTPS (plain HTTP refused: keys fetched in clear can be swapped), with {@code
   * timeout} on connecting and on the whole answer, and {@code ssl} deciding which servers to trust.
   */
  static JwksSource https(URI uri, SSLContext ssl, Duration timeout) {
    requireNonNull(uri, "uri");
    requireNonNull(ssl, "ssl");
    requireNonNull(timeout, "timeout");
    if (!"https".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException("jwks url must be https, got " + uri);
    }
    HttpClient client = HttpClient.newBuilder().sslContext(ssl).connectTimeout(timeout)
        .followRedirects(HttpClient.Redirect.NEVER).build();
    return () -> {
      HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json").GET()
          .build();
      HttpResponse<InputStream> response;
      try {
        response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while fetching " + uri, e);
      }
      byte[] body;
      try (InputStream in = response.body()) {
        if (response.statusCode() != 200) {
          throw new IOException("JWKS " + uri + " answered HTTP " + response.statusCode());
        }
        body = in.readNBytes(MAX_BYTES + 1); // read no more than the bound, whatever the server sends
      }
      if (body.length > MAX_BYTES) {
        throw new IOException("JWKS " + uri + " is over " + MAX_BYTES + " bytes");
      }
      return parse(new String(body, StandardCharsets.UTF_8), uri.toString());
    };
  }

  private static JWKSet parse(String json, String where) throws IOException {
    try {
      JWKSet set = JWKSet.parse(json).toPublicJWKSet();
      if (set.isEmpty()) {
        throw new IOException("JWKS " + where + " holds no public keys");
      }
      return set;
    } catch (ParseException e) {
      throw new IOException("JWKS " + where + " is not a JSON Web Key Set: " + e.getMessage(), e);
    }
  }
}
