package io.infermesh.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.infermesh.core.status.CoreException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP client side of {@code engine: upstream} against a fake OpenAI-compatible server. */
class OpenAiUpstreamTest {
  private static FakeOpenAiServer fake;
  private static ScheduledExecutorService timers;
  private static HttpClient http;

  @BeforeAll
  static void start() throws Exception {
    fake = new FakeOpenAiServer();
    timers = Executors.newSingleThreadScheduledExecutor();
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
  }

  @AfterAll
  static void stop() {
    fake.close();
    timers.shutdownNow();
  }

  /** Collects one call. */
  private static final class Outcome implements UpstreamListener {
    final StringBuilder text = new StringBuilder();
    final CompletableFuture<String> finished = new CompletableFuture<>();
    volatile int promptTokens;
    volatile int completionTokens;

    @Override
    public synchronized void onText(String delta) {
      text.append(delta);
    }

    @Override
    public void onFinished(String finishReason, int prompt, int completion) {
      promptTokens = prompt;
      completionTokens = completion;
      finished.complete(finishReason);
    }

    @Override
    public void onFailed(CoreException error) {
      finished.completeExceptionally(error);
    }

    CoreException failure() throws Exception {
      try {
        finished.get(10, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        return (CoreException) e.getCause();
      }
      throw new AssertionError("expected a failure, got " + finished.get() + " with " + text);
    }
  }

  private static OpenAiUpstream upstream(String url) {
    return new OpenAiUpstream(URI.create(url), "up-model", Duration.ofSeconds(20), http, timers);
  }

  private static UpstreamRequest prompt(String text, Integer maxTokens) {
    return UpstreamRequest.prompt("rid-1", text).maxTokens(maxTokens).temperature(0.5f).topK(7).seed(42L)
        .stop(List.of("END")).build();
  }

  @Test
  void stream_prompt_deliversTextFinishAndUsage_andSendsOpenAiBody() throws Exception {
    Outcome o = new Outcome();
    upstream(fake.url() + "/v1").stream(prompt("hello", 3), o);
    assertThat(o.finished.get(10, TimeUnit.SECONDS)).isEqualTo("length");
    assertThat(o.text).hasToString("Hello from upstream");
    assertThat(o.promptTokens).isEqualTo(5);
    assertThat(o.completionTokens).isEqualTo(3);
    var body = fake.bodies.get(fake.bodies.size() - 1);
    assertThat(fake.paths.get(fake.paths.size() - 1)).isEqualTo("/v1/completions");
    assertThat(body.path("model").asText()).isEqualTo("up-model");
    assertThat(body.path("stream").asBoolean()).isTrue();
    assertThat(body.path("max_tokens").asInt()).isEqualTo(3);
    assertThat(body.path("top_k").asInt()).isEqualTo(7);
    assertThat(body.path("seed").asLong()).isEqualTo(42);
    assertThat(body.path("stop").get(0).asText()).isEqualTo("END");
    assertThat(body.has("top_p")).isFalse();
    assertThat(fake.requestIds).contains("rid-1");
  }

  @Test
  void stream_chat_usesChatCompletionsDeltas() throws Exception {
    Outcome o = new Outcome();
    upstream(fake.url()).stream(UpstreamRequest.chat("rid-2",
        List.of(new UpstreamRequest.Message("system", "be brief", ""), new UpstreamRequest.Message("user", "hi", "bob")))
        .build(), o);
    assertThat(o.finished.get(10, TimeUnit.SECONDS)).isEqualTo("stop");
    assertThat(o.text).hasToString("Hello from upstream");
    var body = fake.bodies.get(fake.bodies.size() - 1);
    assertThat(body.path("messages").get(1).path("name").asText()).isEqualTo("bob");
    assertThat(fake.paths).contains("/v1/chat/completions");
  }

  @Test
  void stream_upstreamStatuses_mapToKinds() throws Exception {
    Outcome bad = new Outcome();
    upstream(fake.url()).stream(prompt("fail-400", null), bad);
    CoreException e400 = bad.failure();
    assertThat(e400.kind()).isEqualTo(CoreException.Kind.INVALID_ARGUMENT);
    assertThat(e400.getMessage()).contains("400").contains("max_tokens is too large");

    Outcome limited = new Outcome();
    upstream(fake.url()).stream(prompt("fail-429", null), limited);
    CoreException e429 = limited.failure();
    assertThat(e429.kind()).isEqualTo(CoreException.Kind.RESOURCE_EXHAUSTED);
    assertThat(e429.retryAfterMillis()).isEqualTo(2000);

    Outcome broken = new Outcome();
    upstream(fake.url()).stream(prompt("fail-500", null), broken);
    assertThat(broken.failure().kind()).isEqualTo(CoreException.Kind.UNAVAILABLE);

    Outcome midStream = new Outcome();
    upstream(fake.url()).stream(prompt("error-mid-stream", null), midStream);
    CoreException mid = midStream.failure();
    assertThat(mid.kind()).isEqualTo(CoreException.Kind.UNAVAILABLE);
    assertThat(mid.getMessage()).contains("engine crashed");
  }

  @Test
  void stream_connectionRefused_unavailable() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Outcome o = new Outcome();
    upstream("http://127.0.0.1:" + port).stream(prompt("hello", null), o);
    CoreException e = o.failure();
    assertThat(e.kind()).isEqualTo(CoreException.Kind.UNAVAILABLE);
    assertThat(e.getMessage()).contains("refused");
  }

  @Test
  void cancel_midStream_closesTheUpstreamConnectionAndSilencesTheListener() throws Exception {
    Outcome o = new Outcome();
    int closedBefore = fake.closedByClient.get();
    OpenAiUpstream.Call call = upstream(fake.url()).stream(prompt("slow", null), o);
    await().atMost(Duration.ofSeconds(10)).until(() -> o.text.length() > 0);
    call.cancel();
    await().atMost(Duration.ofSeconds(10)).until(() -> fake.closedByClient.get() > closedBefore);
    assertThat(o.finished).isNotDone();
  }

  @Test
  void probe_modelsEndpoint_healthyThenUnhealthyWhenGone() throws Exception {
    assertThat(upstream(fake.url()).probe("/v1/models", Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS)).isTrue();
    assertThat(upstream(fake.url()).probe("/nothing-here", Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS)).isFalse();
  }

  @Test
  void apiKey_sentAsBearerOnCallsAndProbes_andAbsentWithoutOne() throws Exception {
    try (FakeOpenAiServer keyed = new FakeOpenAiServer("sk-test-1")) {
      OpenAiUpstream withKey = new OpenAiUpstream(URI.create(keyed.url()), "up-model", Duration.ofSeconds(20), http,
          timers, "sk-test-1");
      assertThat(withKey.probe("/v1/models", Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS)).isTrue();
      Outcome o = new Outcome();
      withKey.stream(prompt("hello", 3), o);
      assertThat(o.finished.get(10, TimeUnit.SECONDS)).isEqualTo("length");
      assertThat(keyed.authorizations).hasSize(2).containsOnly("Bearer sk-test-1");

      OpenAiUpstream without = upstream(keyed.url());
      assertThat(without.probe("/v1/models", Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS)).isFalse();
      assertThat(keyed.authorizations.get(keyed.authorizations.size() - 1)).isEmpty();
    }
  }

  @Test
  void apiKey_refused_unavailableWithoutTheUpstreamsEchoOfTheKey() throws Exception {
    try (FakeOpenAiServer keyed = new FakeOpenAiServer("sk-right")) {
      Outcome o = new Outcome();
      new OpenAiUpstream(URI.create(keyed.url()), "up-model", Duration.ofSeconds(20), http, timers, "sk-wrong-42")
          .stream(prompt("hello", 3), o);
      CoreException e = o.failure();

      assertThat(e.kind()).as("this node's key is wrong; another node may serve").isEqualTo(CoreException.Kind.UNAVAILABLE);
      assertThat(e.getMessage()).contains("401").contains("refused engine.upstream's API key")
          .doesNotContain("sk-wrong-42");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new OpenAiUpstream(URI.create(fake.url()), "m",
        Duration.ofSeconds(1), http, timers, "sk bad\n"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("sk bad");
  }

  @Test
  void sseEvents_multiLineDataAndComments_dispatchOnBlankLine() {
    List<String> got = new ArrayList<>();
    SseEvents sse = new SseEvents(got::add);
    for (String line : new String[] {": comment", "event: message", "data: a", "data:b", "", "data: [DONE]"}) {
      sse.line(line);
    }
    assertThat(got).containsExactly("a\nb");
    sse.flush();
    assertThat(got).containsExactly("a\nb", "[DONE]");
  }
}
