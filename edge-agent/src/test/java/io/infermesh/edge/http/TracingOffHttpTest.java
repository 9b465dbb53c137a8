package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.node.telemetry.Tracing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Tracing is off by default: an agent with no {@code telemetry.otlp.endpoint} runs the no-op
 * tracer, starts no exporter thread and answers a request that carries a {@code traceparent}
 * exactly as one that does not (no trace headers are sent back).
 */
class TracingOffHttpTest {

  private static Set<Thread> exporterThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("BatchSpanProcessor"))
        .collect(Collectors.toSet());
  }

  @Test
  void request_withoutAnEndpoint_noTracerNoExporterThread() throws Exception {
    Set<Thread> before = exporterThreads(); // another test class's exporter may still be winding down
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config()).engine(TinyModel.engine()).start()) {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort()
              + "/v1/chat/completions")).header("Content-Type", "application/json")
          .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"edge\", \"max_tokens\": 2, \"messages\": "
              + "[{\"role\": \"user\", \"content\": \"hi\"}]}")).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(agent.service().tracing()).isSameAs(Tracing.off());
      assertThat(agent.service().tracing().enabled()).isFalse();
      assertThat(r.headers().firstValue("traceparent")).isEmpty();
      assertThat(exporterThreads()).as("exporter threads started by the agent").isSubsetOf(before);
    }
  }
}
