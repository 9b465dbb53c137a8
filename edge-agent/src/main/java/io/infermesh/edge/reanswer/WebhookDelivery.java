package io.infermesh.edge.reanswer;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.config.Reanswer;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs each stored re-answer to {@code reanswer.webhook.url}: the answer's JSON as the body,
 * {@code X-Infermesh-Signature: sha256=HEX(HMAC-SHA256(secret, body))} and {@code
 * X-Infermesh-Reanswer-Id}. A 2xx is delivered; anything else (a status, a refused connection, a
 * timeout of {@link #TIMEOUT}) is tried again after {@code backoff}, doubled per failure up to
 * {@link #MAX_BACKOFF}, at most {@code max_attempts} times, then given up (logged; the answer stays
 * at {@code GET /v1/infermesh/answers/{id}}). The receiver may get an answer twice if the edge stops
 * between its 2xx and the record of it: it should key on the id. Confined to the thread that calls
 * {@link #round}.
 */
final class WebhookDelivery {
  private static final Logger log = LoggerFactory.getLogger(WebhookDelivery.class);
  static final String SIGNATURE_HEADER = "X-Infermesh-Signature";
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  static final Duration MAX_BACKOFF = Duration.ofMinutes(1);
  private static final int BATCH = 16;

  private final ReanswerStore store;
  private final Reanswer.Webhook config;
  private final Clock clock;
  private final HttpClient http;

  WebhookDelivery(ReanswerStore store, Reanswer.Webhook config, Clock clock) {
    this.store = requireNonNull(store, "store");
    this.config = requireNonNull(config, "config");
    this.clock = requireNonNull(clock, "clock");
    this.http = HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** Tries every delivery that is due. */
  void round() throws InterruptedException {
    for (ReanswerStore.Delivery d : store.dueDeliveries(clock.millis(), BATCH)) {
      boolean done = post(d);
      int tried = d.attempts() + 1;
      Optional<Long> retryAt = Optional.empty();
      if (!done && tried < config.maxAttempts()) {
        long wait = Math.min(MAX_BACKOFF.toMillis(), config.backoff().toMillis() << Math.min(tried - 1, 20));
        retryAt = Optional.of(clock.millis() + wait);
      } else if (!done) {
        log.warn("reanswer {}: webhook gave up after {} attempts", d.id(), tried);
      }
      store.delivered(d.id(), done, retryAt);
    }
  }

  private boolean post(ReanswerStore.Delivery d) throws InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(config.url()).timeout(TIMEOUT)
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, signature(config.secret(), d.body()))
        .header("X-Infermesh-Reanswer-Id", d.id())
        .POST(HttpRequest.BodyPublishers.ofByteArray(d.body()))
        .build();
    try {
      int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      if (status / 100 == 2) {
        return true;
      }
      log.info("reanswer {}: webhook answered {}", d.id(), status);
    } catch (IOException e) {
      log.info("reanswer {}: webhook failed: {}", d.id(), e.toString());
    }
    return false;
  }

  /** {@code sha256=} and the hex HMAC-SHA256 of {@code body} under {@code secret}. */
  static String signature(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
