package io.infermesh.edge.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The relay's own HTTP/1.1 connections ({@link UpstreamConnection}), against a real TCP peer that
 * answers in the framings a server may choose: chunks that split SSE lines (with a chunk
 * extension), then a Content-Length body on the same kept-alive connection, then the server closes
 * that connection while it idles in the pool — the next request must be sent again on a fresh
 * connection, and the client must never see the stale one.
 */
class UpstreamConnectionReuseTest {
  private static final String[] EVENTS = {
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hel\"},\"finish_reason\":null}]}\n\n",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
          + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n",
      "data: [DONE]\n\n"};

  @Test
  void keptAliveConnectionsAreReused_andOneTheServerClosedIsReplacedOnce() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
      server.setSoTimeout(30_000);
      CompletableFuture<List<String>> served = CompletableFuture.supplyAsync(() -> serve(server));
      try (EdgeAgent front = UpstreamEngineTest.startFront("http://127.0.0.1:" + server.getLocalPort(),
          Duration.ofSeconds(30))) {
        HttpTestClient client = new HttpTestClient(front.httpPort());
        for (int i = 0; i < 3; i++) {
          Reply r = client.post("/v1/chat/completions", """
              {"model": "front", "messages": [{"role": "user", "content": "hi %d"}], "max_tokens": 4}
              """.formatted(i));
          assertThat(r.status()).as("request %d: %s", i, r.raw().body()).isEqualTo(200);
          assertThat(r.json().at("/choices/0/message/content").asText()).isEqualTo("hello");
          assertThat(r.json().at("/usage/completion_tokens").asInt()).isEqualTo(2);
        }
      }
      // connection 1 carried requests 0 and 1, then was closed by the server; request 2 was sent on
      // it, found it closed before any answer, and went again on connection 2
      assertThat(served.get(30, TimeUnit.SECONDS)).containsExactly("1: hi 0", "1: hi 1", "2: hi 2");
    }
  }

  /** Answers two requests on the first connection (chunked, then Content-Length), closes it, answers one more. */
  private static List<String> serve(ServerSocket server) {
    List<String> served = new ArrayList<>();
    try {
      try (Socket first = server.accept()) {
        InputStream in = first.getInputStream();
        OutputStream out = first.getOutputStream();
        served.add("1: " + prompt(request(in)));
        chunked(out);
        served.add("1: " + prompt(request(in)));
        byte[] body = String.join("", EVENTS).getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " + body.length
            + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
      } // closed while the edge keeps it idle
      try (Socket second = server.accept()) {
        served.add("2: " + prompt(request(second.getInputStream())));
        chunked(second.getOutputStream());
      }
    } catch (IOException e) {
      served.add("failed: " + e);
    }
    return served;
  }

  /** The events in chunks that end inside their lines, one size line with an extension. */
  private static void chunked(OutputStream out) throws IOException {
    out.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        .getBytes(StandardCharsets.ISO_8859_1));
    for (String event : EVENTS) {
      byte[] b = event.getBytes(StandardCharsets.UTF_8);
      int half = b.length / 2;
      out.write(String.format(Locale.ROOT, "%x;part=1\r\n", half).getBytes(StandardCharsets.ISO_8859_1));
      out.write(b, 0, half);
      out.write(String.format(Locale.ROOT, "\r\n%X\r\n", b.length - half).getBytes(StandardCharsets.ISO_8859_1));
      out.write(b, half, b.length - half);
      out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    }
    out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Reads one request (head, then a Content-Length body); returns its body. */
  private static String request(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the edge closed the connection");
      }
      head.write(b);
    }
    int length = 0;
    for (String line : head.toString(StandardCharsets.ISO_8859_1).split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).strip());
      }
    }
    return new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  private static String prompt(String body) {
    int at = body.indexOf("hi ");
    return at < 0 ? body : body.substring(at, at + 4);
  }
}
