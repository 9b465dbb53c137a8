package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The answer side of the {@link Egress} seam, event by event, over scripted streams. */
class RewrittenAnswerTest {
  private final AtomicReference<String> continuedFrom = new AtomicReference<>();

  private Escalator.Call call(boolean continuable) {
    CompletionRequest request = CompletionRequest.chat(List.of(ChatMessage.of(Role.USER, "Write to Alice")),
        SamplingRequest.DEFAULTS);
    Escalator.Fallback fallback = (partial, soFar, degraded) -> {
      continuedFrom.set(partial);
      return new ReplayStream(new Served("req-1", degraded, "edge-model", "1"),
          CachedCompletion.of(List.of(" [NAME] stays"), FinishReason.STOP, 4, 2), 0);
    };
    return new Escalator.Call("req-1", request, Tenant.ANONYMOUS, new RouteDecision(Route.CORE, "difficulty-high"),
        new SamplingParams(8, 0f, 1f, 0, OptionalLong.empty(), List.of()), Duration.ofSeconds(5),
        continuable ? fallback : null);
  }

  @Test
  void next_valueSplitAcrossDeltas_isHeldBackThenRestoredWhole() throws Exception {
    AtomicReference<Escalator.Call> sent = new AtomicReference<>();
    Escalator.Call original = call(true);
    RewrittenAnswer answer = RewrittenAnswer.start(new Renaming("Alice", "[NAME]").open(original), original, c -> {
      sent.set(c);
      return ScriptedCoreStream.answering(c, "Dear [NA", "ME", "], hi");
    });

    List<StreamEvent> events = StreamEvents.untilEnd(answer);

    assertThat(sent.get().request().messages().get(0).content()).isEqualTo("Write to [NAME]");
    assertThat(events).containsExactly(new StreamEvent.Delta("Dear "), new StreamEvent.Delta("Alice, hi"),
        new StreamEvent.Done(FinishReason.STOP, new Usage(5, 3, 0)));
  }

  @Test
  void next_answerEndsWithHeldText_flushesItBeforeTheEnd() throws Exception {
    Escalator.Call original = call(true);
    RewrittenAnswer answer = RewrittenAnswer.start(new Renaming("Alice", "[NAME]").open(original), original,
        c -> ScriptedCoreStream.answering(c, "Dear [NAME", "] and [unclosed"));

    List<StreamEvent> events = StreamEvents.untilEnd(answer);

    assertThat(events).containsExactly(new StreamEvent.Delta("Dear "), new StreamEvent.Delta("Alice and "),
        new StreamEvent.Delta("[unclosed"), new StreamEvent.Done(FinishReason.STOP, new Usage(5, 2, 0)));
    assertThat(answer.next()).isEqualTo(events.get(3)); // the end again, nothing flushed twice
  }

  @Test
  void next_coreFailsWithTextHeld_flushesItAndTheEdgeContinuesAfterItUnrewritten() throws Exception {
    Escalator.Call original = call(true);
    RewrittenAnswer answer = RewrittenAnswer.start(new Renaming("Alice", "[NAME]").open(original), original,
        c -> ScriptedCoreStream.failingAfter(c, "Dear [NAME], [pa"));

    List<StreamEvent> events = StreamEvents.untilEnd(answer);

    assertThat(continuedFrom).hasValue("Dear Alice, [pa");
    assertThat(events).containsExactly(new StreamEvent.Delta("Dear Alice, "), new StreamEvent.Delta("[pa"),
        new StreamEvent.Delta(" [NAME] stays"), new StreamEvent.Done(FinishReason.STOP, new Usage(4, 2, 0)));
    assertThat(answer.served().route().reason()).isEqualTo("core-failed-midstream");
  }

  @Test
  void next_coreFailsWithoutFallback_flushesHeldTextBeforeTheFailure() throws Exception {
    Escalator.Call original = call(false);
    RewrittenAnswer answer = RewrittenAnswer.start(new Renaming("Alice", "[NAME]").open(original), original,
        c -> ScriptedCoreStream.failingAfter(c, "Dear [NA"));

    List<StreamEvent> events = StreamEvents.untilEnd(answer);

    assertThat(continuedFrom).hasValue(null);
    assertThat(events).hasSize(3);
    assertThat(events.subList(0, 2)).containsExactly(new StreamEvent.Delta("Dear "), new StreamEvent.Delta("[NA"));
    assertThat(events.get(2)).isInstanceOf(StreamEvent.Failed.class);
  }
}
