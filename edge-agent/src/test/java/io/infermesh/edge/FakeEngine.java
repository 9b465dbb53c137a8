package io.infermesh.edge;

import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Completion;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.PromptException;
import io.infermesh.edge.engine.SamplingParams;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * A scripted engine for tests of the request path: it generates {@code "tok0 tok1 …"} up to
 * {@code max_tokens}, counts one prompt token per character, and has an optional gate that holds
 * every generation after its first token (the reader's second {@code next()} blocks) until
 * released, so tests can fill slots and queues deterministically. Thread-safe.
 */
public final class FakeEngine implements Engine {
  private final ModelInfo info;
  private final Semaphore gate = new Semaphore(Integer.MAX_VALUE);
  private final AtomicInteger started = new AtomicInteger();
  private final List<String> startedPrompts = new CopyOnWriteArrayList<>();
  private final AtomicInteger cancelled = new AtomicInteger();
  private volatile CountDownLatch firstTokenSent = new CountDownLatch(1);
  private volatile long tokenDelayMillis;
  private volatile String refusal; // non-null: every chat is refused with it, as a model's template may

  public FakeEngine(int contextSize, int parallel) {
    this.info = new ModelInfo("fake", "000000000000", "0".repeat(64), contextSize, parallel, "chatml");
  }

  /** Holds generations after their first token until {@link #release()}. */
  public void hold() {
    gate.drainPermits();
  }

  /** Lets held generations run on. */
  public void release() {
    gate.drainPermits();
    gate.release(Integer.MAX_VALUE / 2);
  }

  /** Slows every token after the first by {@code millis}. */
  public void tokenDelay(long millis) {
    this.tokenDelayMillis = millis;
  }

  /** Refuses every chat from now on as a chat template's {@code raise_exception(message)} does. */
  public void refuseChats(String message) {
    this.refusal = message;
  }

  /** Generations started so far. */
  public int started() {
    return started.get();
  }

  /** The prompts of the generations started so far, in order. */
  public List<String> startedPrompts() {
    return List.copyOf(startedPrompts);
  }

  /** Generations that saw cancellation. */
  public int cancelled() {
    return cancelled.get();
  }

  /** Waits until some generation has produced its first token. */
  public boolean awaitFirstToken(long millis) throws InterruptedException {
    return firstTokenSent.await(millis, TimeUnit.MILLISECONDS);
  }

  public void resetFirstToken() {
    firstTokenSent = new CountDownLatch(1);
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Prompt renderChat(List<ChatMessage> messages) {
    if (refusal != null) {
      throw new PromptException("messages: the model's chat template refused the chat: " + refusal, null);
    }
    StringBuilder text = new StringBuilder();
    for (ChatMessage m : messages) {
      text.append(m.role().wireName()).append(": ").append(m.content()).append('\n');
    }
    return rawPrompt(text.toString());
  }

  @Override
  public Prompt rawPrompt(String text) {
    return new Prompt(text, text.length());
  }

  @Override
  public int[] tokenize(String text) {
    return text.chars().toArray();
  }

  @Override
  public Generation start(Prompt prompt, SamplingParams sampling, BooleanSupplier isCancelled) {
    started.incrementAndGet();
    startedPrompts.add(prompt.text());
    return new Generation() {
      private int produced;
      private boolean ended;
      private boolean stopped;

      @Override
      public String next() {
        if (ended || produced >= sampling.maxTokens()) {
          ended = true;
          return null;
        }
        if (isCancelled.getAsBoolean()) {
          stop();
        }
        if (produced == 1 && !awaitGate(isCancelled)) { // hold after the first token
          stop();
        } else if (produced > 1 && tokenDelayMillis > 0) {
          sleep(tokenDelayMillis);
        }
        String text = produced == 0 ? "tok0" : " tok" + produced;
        produced++;
        if (produced == 1) {
          firstTokenSent.countDown();
        }
        return text;
      }

      @Override
      public Completion completion() {
        return new Completion(FinishReason.LENGTH, prompt.tokens(), sampling.maxTokens());
      }

      private void stop() {
        stopped = true;
        cancelled.incrementAndGet();
        throw new CancellationException();
      }

      /** Closing before the end stops generation: counted as a cancellation. */
      @Override
      public void close() {
        if (!ended && !stopped) {
          stopped = true;
          cancelled.incrementAndGet();
        }
      }
    };
  }

  /** Waits for the gate; false when cancelled first. */
  private boolean awaitGate(BooleanSupplier isCancelled) {
    while (!gate.tryAcquire()) {
      if (isCancelled.getAsBoolean()) {
        return false;
      }
      sleep(5);
    }
    gate.release();
    return true;
  }

  private static void sleep(long millis) {
    try {
      TimeUnit.MILLISECONDS.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException();
    }
  }

  @Override
  public void close() {}
}
