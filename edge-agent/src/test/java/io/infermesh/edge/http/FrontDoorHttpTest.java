package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.RawHttp;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.Limits;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The front door over raw sockets: malformed framing and Jetty's own refusals are OpenAI error
 * JSON with a 4xx; a body that never arrives is a 408; idle and header-less connections are
 * closed after their (short, here) timeouts; CONNECT is refused and closed; requests over the
 * message and size bounds are 400s before anything is rendered.
 */
class FrontDoorHttpTest {
  private static final Duration TIMEOUT = Duration.ofMillis(400);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Limits LIMITS = Limits.builder().maxMessages(8).maxInputBytes(4096).headerTimeout(TIMEOUT)
      .idleTimeout(TIMEOUT).maxConnections(64).build();
  private static EdgeAgent agent;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    agent = EdgeAgent.builder(TinyModel.config().withLimits(LIMITS)).engine(TinyModel.engine()).start();
    http = new HttpTestClient(agent.httpPort());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  private static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}";

  /** A malformed request and the status it must get. */
  record Malformed(String name, String request, int status) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static String chunked(String size) {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + CHAT + "\r\n0\r\n\r\n";
  }

  static Stream<Malformed> malformed() {
    return Stream.of(
        new Malformed("chunk size zz", chunked("zz"), 400),
        new Malformed("chunk size -5", chunked("-5"), 400),
        new Malformed("chunk size ffffffffffffffff", chunked("ffffffffffffffff"), 400),
        new Malformed("URI too long", "GET /v1/models?" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        new Malformed("header too large", "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000)
            + "\r\n\r\n", 431),
        new Malformed("not HTTP", "GARBAGE\r\n\r\n", 400),
        new Malformed("HTTP/3.7", "GET /v1/models HTTP/3.7\r\nHost: x\r\n\r\n", 505),
        new Malformed("unknown expectation", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-banana\r\n"
            + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\n\r\n" + CHAT, 417),
        new Malformed("two content lengths", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            + "Content-Length: 6\r\n\r\nabcdef", 400),
        new Malformed("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void rawRequest_malformed_getsA4xxWithOpenAiErrorJsonAndTheAgentServesOn(Malformed m) throws Exception {
    try (RawHttp raw = RawHttp.connect(agent.httpPort(), WAIT)) {
      RawHttp.Response r = raw.send(m.request()).read();

      assertThat(r.status()).as(r.head() + r.text()).isEqualTo(m.status());
      assertOpenAiError(r);
    }
    assertThat(http.post("/v1/chat/completions", CHAT).status()).isEqualTo(200);
  }

  @Test
  void connect_isRefusedAndTheConnectionClosed() throws Exception {
    try (RawHttp raw = RawHttp.connect(agent.httpPort(), WAIT)) {
      RawHttp.Response r = raw.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").read();

      assertThat(r.status()).isEqualTo(405);
      assertThat(raw.closedByServer()).isTrue();
    }
  }

  @Test
  void body_promisedButNeverSent_gets408WithinTheIdleTimeout() throws Exception {
    try (RawHttp raw = RawHttp.connect(agent.httpPort(), WAIT)) {
      long started = System.nanoTime();
      RawHttp.Response r = raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: 100\r\n\r\n{\"messages\"").read();

      assertThat(r.status()).isEqualTo(408);
      assertOpenAiError(r);
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(WAIT);
    }
  }

  @Test
  void connection_sendsNoHeaders_isClosedAfterTheHeaderTimeout() throws Exception {
    try (RawHttp raw = RawHttp.connect(agent.httpPort(), WAIT)) {
      raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"); // and then nothing

      assertThat(raw.closedByServer()).isTrue();
    }
  }

  @Test
  void connection_keptAliveButIdle_isClosedAfterTheIdleTimeout() throws Exception {
    try (RawHttp raw = RawHttp.connect(agent.httpPort(), WAIT)) {
      assertThat(raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);

      assertThat(raw.closedByServer()).isTrue();
    }
  }

  @Test
  void chat_moreMessagesThanTheLimit_is400NamingMessages() {
    String many = "{\"messages\":[" + String.join(",", Collections.nCopies(9,
        "{\"role\":\"user\",\"content\":\"hi\"}")) + "],\"max_tokens\":1}";

    HttpTestClient.Reply r = http.post("/v1/chat/completions", many);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/param").asText()).isEqualTo("messages");
    assertThat(r.json().at("/error/message").asText()).isEqualTo(
        "messages: at most 8 messages are allowed (limits.max_messages), got 9");
  }

  @Test
  void chat_moreBytesThanTheLimit_is400NamingMessages() {
    String big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "é".repeat(2049) + "\"}],\"max_tokens\":1}";

    HttpTestClient.Reply r = http.post("/v1/chat/completions", big);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/message").asText()).contains("at most 4096 bytes of UTF-8");
  }

  @Test
  void body_nestedDeeperThanTheBound_is400() {
    String deep = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"x\":" + "[".repeat(100) + "]".repeat(100) + "}";

    HttpTestClient.Reply r = http.post("/v1/chat/completions", deep);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.json().at("/error/message").asText()).startsWith("Invalid JSON body").contains("nesting depth");
  }

  @Test
  void connections_overTheLimit_waitUntilOneCloses() throws Exception {
    Limits few = LIMITS.toBuilder().headerTimeout(Duration.ofSeconds(30)).idleTimeout(Duration.ofSeconds(30))
        .maxConnections(3).build();
    try (EdgeAgent small = EdgeAgent.builder(TinyModel.config().withLimits(few)).engine(TinyModel.engine()).start()) {
      List<RawHttp> held = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          RawHttp c = RawHttp.connect(small.httpPort(), WAIT);
          held.add(c);
          assertThat(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
        }
        try (RawHttp fourth = RawHttp.connect(small.httpPort(), Duration.ofMillis(300))) {
          fourth.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
          assertThatThrownBy(fourth::read).isInstanceOf(SocketTimeoutException.class); // not accepted yet

          held.remove(0).close();
          assertThat(fourth.timeout(WAIT).read().status()).isEqualTo(200); // accepted once one closed
        }
      } finally {
        held.forEach(RawHttp::close);
      }
    }
  }

  private static void assertOpenAiError(RawHttp.Response r) {
    assertThat(r.header("content-type")).startsWith("application/json");
    JsonNode error = r.json().get("error");
    assertThat(error).isNotNull();
    assertThat(error.get("message").isTextual()).isTrue();
    assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).doesNotContain("<h1>");
  }
}
