package io.infermesh.core.schedule;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Admission for work the node does not batch itself (calls forwarded to an upstream engine): at
 * most {@code maxRunning} at once, each priority class at most its own share, the rest waiting in
 * a bounded queue served by priority with aging (the same order as the {@link Scheduler}); a full
 * queue rejects with a retry hint.
 *
 * <p>Pure policy: no threads, no I/O; time comes from the injected clock. Not thread-safe: guard it
 * with one lock, or drive it step by step in tests.
 */
public final class PriorityGate {
  private final Config config;
  private final LongSupplier nanoTime;
  private final Map<String, Entry> waiting = new LinkedHashMap<>(); // arrival order breaks ties
  private final Map<String, Entry> running = new HashMap<>();
  private final RetryHint retryHint;

  private record Entry(String id, Priority priority, long arrivalNanos) {}

  /**
   * Limits of the gate.
   *
   * @param maxRunning calls in flight at once
   * @param maxQueued calls waiting beyond this are rejected
   * @param perPriority most calls in flight of each class (defaults: HIGH and NORMAL all of
   *     {@code maxRunning}, LOW half of it), so background work cannot take every slot
   * @param aging waiting this long raises a call one class in the queue order
   * @param defaultRetryAfter the retry hint before any call has finished
   */
  public record Config(int maxRunning, int maxQueued, Map<Priority, Integer> perPriority, Duration aging,
      Duration defaultRetryAfter) {
    public Config {
      if (maxRunning <= 0 || maxQueued <= 0) {
        throw new IllegalArgumentException("max running and max queued must be positive");
      }
      perPriority = new EnumMap<>(perPriority);
      for (Priority p : Priority.values()) {
        int cap = perPriority.getOrDefault(p, maxRunning);
        if (cap <= 0) {
          throw new IllegalArgumentException("the share of " + p + " must be positive, got " + cap);
        }
        perPriority.put(p, Math.min(cap, maxRunning));
      }
      perPriority = Map.copyOf(perPriority);
      Objects.requireNonNull(aging, "aging");
      Objects.requireNonNull(defaultRetryAfter, "defaultRetryAfter");
    }

    /** HIGH and NORMAL may use every slot, LOW half of them. */
    public static Config of(int maxRunning, int maxQueued, Duration aging) {
      return new Config(maxRunning, maxQueued, Map.of(Priority.LOW, Math.max(1, maxRunning / 2)), aging,
          Duration.ofSeconds(1));
    }
  }

  public PriorityGate(Config config, LongSupplier nanoTime) {
    this.config = Objects.requireNonNull(config, "config");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.retryHint = new RetryHint(config.defaultRetryAfter());
  }

  /**
   * Queues a call; {@link #admit()} says when it may start.
   *
   * @throws IllegalArgumentException if the id is already queued or running
   */
  public Admission offer(String id, Priority priority) {
    if (waiting.containsKey(id) || running.containsKey(id)) {
      throw new IllegalArgumentException("request id " + id + " is already in flight");
    }
    if (waiting.size() >= config.maxQueued()) {
      return new Admission.Rejected(id, "queue full (" + waiting.size() + " waiting)",
          retryHint.millis(waiting.size(), config.maxRunning()));
    }
    waiting.put(id, new Entry(id, priority, nanoTime.getAsLong()));
    return new Admission.Accepted(id);
  }

  /**
   * Moves the calls that may start now from the queue to running, best first: by aged priority,
   * then arrival; a class at its share is skipped, not waited for.
   */
  public List<String> admit() {
    long now = nanoTime.getAsLong();
    List<Entry> order = new ArrayList<>(waiting.values());
    order.sort(Comparator.<Entry>comparingInt(e -> e.priority().agedRank(now - e.arrivalNanos(), config.aging()))
        .thenComparingLong(Entry::arrivalNanos));
    List<String> started = new ArrayList<>();
    for (Entry e : order) {
      if (running.size() >= config.maxRunning()) {
        break;
      }
      if (runningOf(e.priority()) >= config.perPriority().get(e.priority())) {
        continue;
      }
      waiting.remove(e.id());
      running.put(e.id(), e);
      started.add(e.id());
    }
    return started;
  }

  /**
   * A call left: finished ({@code served} true: its time feeds the retry hint), failed or was
   * cancelled, queued or running. Unknown ids are ignored. Call {@link #admit()} next.
   */
  public void release(String id, boolean served) {
    Entry e = running.remove(id);
    if (e == null) {
      waiting.remove(id);
    } else if (served) {
      retryHint.served(nanoTime.getAsLong() - e.arrivalNanos());
    }
  }

  /** Whether {@code id} is running (admitted and not released). */
  public boolean isRunning(String id) {
    return running.containsKey(id);
  }

  private int runningOf(Priority p) {
    int n = 0;
    for (Entry e : running.values()) {
      if (e.priority() == p) {
        n++;
      }
    }
    return n;
  }

  /** A snapshot for metrics (no KV cache here: its fields are 0). */
  public SchedulerStats stats() {
    Map<Priority, Integer> queued = new EnumMap<>(Priority.class);
    for (Priority p : Priority.values()) {
      queued.put(p, 0);
    }
    for (Entry e : waiting.values()) {
      queued.merge(e.priority(), 1, Integer::sum);
    }
    return new SchedulerStats(queued, running.size(), 0, 0, 0);
  }
}
