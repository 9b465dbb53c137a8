package io.infermesh.edge.escalate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.FinishReason;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.Usage;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.serve.CompletionRequest;
import io.infermesh.edge.serve.CompletionStream;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.Escalator;
import io.infermesh.edge.serve.SamplingRequest;
import io.infermesh.edge.serve.Served;
import io.infermesh.edge.serve.StreamEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link CoreStream} against a scripted core on a real (plaintext, loopback) gRPC server. */
class CoreStreamTest {
  /** What the fake core does: sends these texts, then fails with {@code failWith} or finishes. */
  private volatile List<String> script = List.of("a", "b", "c");
  private volatile Status failWith;
  private volatile boolean hang;
  private final AtomicBoolean serverSawCancel = new AtomicBoolean();
  private Server server;
  private ManagedChannel channel;
  private CircuitBreaker breaker;

  @BeforeEach
  void start() throws Exception {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new InferenceGrpc.InferenceImplBase() {
          @Override
          public void generate(GenerateRequest request, StreamObserver<GenerateChunk> out) {
            Context.current().addListener(c -> serverSawCancel.set(true), Runnable::run);
            for (String t : script) {
              out.onNext(GenerateChunk.newBuilder().setText(t).addTokenIds(1).build());
            }
            if (hang) {
              return;
            }
            if (failWith != null) {
              out.onError(failWith.asRuntimeException());
              return;
            }
            out.onNext(GenerateChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
                .setUsage(Usage.newBuilder().setPromptTokens(5).setCompletionTokens(script.size())).build());
            out.onCompleted();
          }
        }).build().start();
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .build();
    breaker = CircuitBreaker.of("test", CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(2)
        .failureRateThreshold(50).waitDurationInOpenState(Duration.ofMinutes(1)).build());
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static Escalator.Call call(Escalator.Fallback fallback) {
    return new Escalator.Call("req-1", CompletionRequest.text("hello", SamplingRequest.DEFAULTS), Tenant.ANONYMOUS,
        new RouteDecision(Route.CORE, "alias-core"),
        new SamplingParams(16, 0f, 1f, 0, OptionalLong.empty(), List.of()), Duration.ofSeconds(10), fallback);
  }

  private CoreStream open(Escalator.Fallback fallback) {
    CoreStream s = new CoreStream(call(fallback), breaker, fallback);
    s.start(InferenceGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS),
        GenerateRequest.newBuilder().setPrompt("hello").build());
    return s;
  }

  private static List<StreamEvent> drain(CompletionStream s) throws InterruptedException {
    List<StreamEvent> events = new ArrayList<>();
    StreamEvent e;
    do {
      e = s.next();
      events.add(e);
    } while (e instanceof StreamEvent.Delta);
    return events;
  }

  private static String text(List<StreamEvent> events) {
    StringBuilder b = new StringBuilder();
    events.stream().filter(StreamEvent.Delta.class::isInstance).forEach(e -> b.append(((StreamEvent.Delta) e).text()));
    return b.toString();
  }

  @Test
  void next_coreAnswers_passesChunksThroughInOrder() throws Exception {
    List<StreamEvent> events = drain(open(null));
    assertThat(events).hasSize(4);
    assertThat(text(events)).isEqualTo("abc");
    assertThat(events.get(3)).isInstanceOf(StreamEvent.Done.class);
    assertThat(((StreamEvent.Done) events.get(3)).usage().completionTokens()).isEqualTo(3);
    assertThat(breaker.getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(1);
  }

  @Test
  void next_coreFailsMidStream_edgeContinuesFromTheTextSoFar() throws Exception {
    failWith = Status.UNAVAILABLE.withDescription("core went away");
    AtomicReference<String> partialSeen = new AtomicReference<>();
    CoreStream s = open((partial, soFar, decision) -> {
      partialSeen.set(partial);
      return new ScriptedStream(decision, List.of("d", "e"));
    });
    List<StreamEvent> events = drain(s);
    assertThat(partialSeen.get()).isEqualTo("abc");
    assertThat(text(events)).isEqualTo("abcde");
    assertThat(events.get(events.size() - 1)).isInstanceOf(StreamEvent.Done.class);
    assertThat(((StreamEvent.Done) events.get(events.size() - 1)).usage().completionTokens()).isEqualTo(5);
    assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.EDGE_DEGRADED, "core-failed-midstream"));
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
  }

  @Test
  void next_coreFailsWithoutFallback_failsUnavailable() throws Exception {
    failWith = Status.UNAVAILABLE.withDescription("core went away");
    List<StreamEvent> events = drain(open(null));
    assertThat(text(events)).isEqualTo("abc");
    StreamEvent last = events.get(events.size() - 1);
    assertThat(last).isInstanceOf(StreamEvent.Failed.class);
    assertThat(((StreamEvent.Failed) last).error().kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE);
  }

  @Test
  void next_requestRejectedByCore_noFallbackAndCircuitUntouched() throws Exception {
    script = List.of();
    failWith = Status.INVALID_ARGUMENT.withDescription("max_tokens too large");
    List<StreamEvent> events = drain(open((p, n, d) -> {
      throw new AssertionError("must not fall back for a bad request");
    }));
    assertThat(((StreamEvent.Failed) events.get(0)).error().kind()).isEqualTo(EdgeException.Kind.INVALID_ARGUMENT);
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
  }

  @Test
  void readRest_coreAnswers_wholeTextAndDone() throws Exception {
    CoreStream s = open(null);
    StringBuilder text = new StringBuilder();
    StreamEvent end = s.readRest(text);
    assertThat(text).hasToString("abc");
    assertThat(end).isInstanceOf(StreamEvent.Done.class);
    assertThat(((StreamEvent.Done) end).usage().completionTokens()).isEqualTo(3);
    assertThat(s.next()).isSameAs(end);
    assertThat(breaker.getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(1);
  }

  @Test
  void readRest_longAnswer_readerWokenOnlyForTheEnd() throws Exception {
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < 20 * CoreStream.PREFETCH; i++) {
      tokens.add("t" + i + " ");
    }
    script = tokens;
    CoreStream s = open(null);
    StreamEvent first = s.next();
    StringBuilder text = new StringBuilder(((StreamEvent.Delta) first).text());
    int before = s.wakeups();
    StreamEvent end = s.readRest(text);
    assertThat(text).hasToString(String.join("", tokens));
    assertThat(end).isInstanceOf(StreamEvent.Done.class);
    // one unpark for the end (one more if the switch raced with a chunk), not one per chunk
    assertThat(s.wakeups() - before).isLessThanOrEqualTo(2);
  }

  @Test
  void next_readerFarBehind_flowControlResumesAndEveryChunkArrives() throws Exception {
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < 20 * CoreStream.PREFETCH; i++) {
      tokens.add(i + ",");
    }
    script = tokens;
    CoreStream s = open(null);
    assertThat(s.next()).isInstanceOf(StreamEvent.Delta.class);
    // the core's chunks pile up while the reader is away: the transport must stop at the bound
    // and the reader must restart it, or the stream would end in DEADLINE_EXCEEDED
    await().atMost(Duration.ofSeconds(5)).until(() -> s.queued() >= CoreStream.PREFETCH);
    List<StreamEvent> events = drain(s);
    assertThat("0," + text(events)).isEqualTo(String.join("", tokens));
    assertThat(events.get(events.size() - 1)).isInstanceOf(StreamEvent.Done.class);
  }

  @Test
  void readRest_coreFailsMidStream_edgeFinishesTheWholeAnswer() throws Exception {
    failWith = Status.UNAVAILABLE.withDescription("core went away");
    CoreStream s = open((partial, soFar, decision) -> new ScriptedStream(decision, List.of("d", "e")));
    StringBuilder text = new StringBuilder();
    StreamEvent end = s.readRest(text);
    assertThat(text).hasToString("abcde");
    assertThat(end).isInstanceOf(StreamEvent.Done.class);
    assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.EDGE_DEGRADED, "core-failed-midstream"));
  }

  @Test
  void cancel_clientGoesAway_coreCallIsCancelled() throws Exception {
    hang = true;
    CoreStream s = open(null);
    assertThat(s.next()).isInstanceOf(StreamEvent.Delta.class);
    s.close();
    await().atMost(Duration.ofSeconds(5)).untilTrue(serverSawCancel);
  }

  @Test
  void start_circuitOpen_fallsBackBeforeCalling() throws Exception {
    breaker.transitionToOpenState();
    CoreStream s = open((p, n, d) -> new ScriptedStream(d, List.of("local")));
    List<StreamEvent> events = drain(s);
    assertThat(text(events)).isEqualTo("local");
    assertThat(s.served().route()).isEqualTo(new RouteDecision(Route.EDGE_DEGRADED, "core-failed"));
  }

  private CompletionStream openChoices(int n, Escalator.Fallback fallback) {
    return CoreChoices.start(InferenceGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS),
        GenerateRequest.newBuilder().setPrompt("hello").setN(n).build(), call(fallback), breaker, fallback);
  }

  @Test
  void coreChoices_coreFailsBeforeItsFirstChunk_choiceZeroFromTheEdgeAndTheOthersNotOffered() throws Exception {
    script = List.of();
    failWith = Status.UNAVAILABLE.withDescription("core went away");
    CompletionStream first = openChoices(3, (p, n, d) -> new ScriptedStream(d, List.of("local")));

    List<StreamEvent> events = drain(first);

    assertThat(text(events)).isEqualTo("local");
    assertThat(events.get(events.size() - 1)).isInstanceOf(StreamEvent.Done.class);
    assertThat(first.served().route()).isEqualTo(new RouteDecision(Route.EDGE_DEGRADED, "core-failed"));
    assertThat(first.choice(1)).as("asked for one by one instead").isEmpty();
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
  }

  @Test
  void coreChoices_coreFailsAfterItsFirstChunk_everyUnfinishedChoiceFails() throws Exception {
    script = List.of("a");
    failWith = Status.UNAVAILABLE.withDescription("core went away");
    CompletionStream first = openChoices(2, (p, n, d) -> new ScriptedStream(d, List.of("local")));

    List<StreamEvent> events = drain(first);

    assertThat(text(events)).isEqualTo("a");
    assertThat(events.get(events.size() - 1)).isInstanceOfSatisfying(StreamEvent.Failed.class,
        f -> assertThat(f.error().getMessage()).contains("core went away"));
    assertThat(drain(first.choice(1).orElseThrow())).singleElement().isInstanceOf(StreamEvent.Failed.class);
  }

  /** A local stream that yields fixed deltas. */
  private static final class ScriptedStream implements CompletionStream {
    private final Served served;
    private final List<String> deltas;
    private int i;

    ScriptedStream(RouteDecision decision, List<String> deltas) {
      this.served = new Served("req-1", decision, "edge", "v");
      this.deltas = deltas;
    }

    @Override
    public Served served() {
      return served;
    }

    @Override
    public StreamEvent next() {
      return i < deltas.size() ? new StreamEvent.Delta(deltas.get(i++))
          : new StreamEvent.Done(io.infermesh.edge.engine.FinishReason.STOP,
              new io.infermesh.edge.serve.Usage(5, deltas.size(), 0));
    }

    @Override
    public StreamEvent poll() {
      return null;
    }

    @Override
    public void cancel() {}
  }
}
