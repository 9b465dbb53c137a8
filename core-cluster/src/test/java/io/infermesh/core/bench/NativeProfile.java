package io.infermesh.core.bench;

import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What PyTorch ran during some engine steps, from its own profiler (the Chrome trace DJL's
 * {@code JniUtils.stopProfile} writes): the top-level ATen operators are the native calls the
 * engine made (an operator nested inside another, {@code aten::mm} inside {@code aten::matmul}, is
 * not a call from Java); their count per step, and the time inside them by operator. Wall time
 * outside every top-level operator is the Java side: JNI crossings, tensor bookkeeping, sampling.
 */
final class NativeProfile {
  private static final Pattern EVENT = Pattern.compile(
      "\"name\":\\s*\"([^\"]+)\",\\s*\"ph\":\\s*\"X\",\\s*\"ts\":\\s*([0-9.]+),\\s*\"dur\":\\s*([0-9.]+),\\s*\"tid\":\\s*(\\d+)");

  private record Event(String name, double start, double duration, long thread) {
    double end() {
      return start + duration;
    }
  }

  private NativeProfile() {}

  interface Steps {
    void run(int steps) throws Exception;
  }

  /** Profiles {@code steps} steps of {@code body} and prints the native calls per step and their time by operator. */
  static void print(String label, int steps, Steps body) throws Exception {
    Path trace = Files.createTempFile("infermesh-profile", ".json");
    JniUtils.startProfile(false, false, false);
    long t0 = System.nanoTime();
    body.run(steps);
    double wallUs = (System.nanoTime() - t0) / 1e3;
    JniUtils.stopProfile(trace.toString());
    List<Event> top = topLevel(read(trace));
    Files.deleteIfExists(trace);
    Map<String, double[]> byName = new TreeMap<>(); // name -> {calls, total us}
    double inside = 0;
    for (Event e : top) {
      double[] v = byName.computeIfAbsent(e.name(), k -> new double[2]);
      v[0]++;
      v[1] += e.duration();
      inside += e.duration();
    }
    System.out.printf("%s: %.0f native calls per step, %.2f ms per step under the profiler, %.2f ms of it in"
        + " native operators, %.2f ms outside them (Java, JNI, bookkeeping)%n", label, (double) top.size() / steps,
        wallUs / steps / 1e3, inside / steps / 1e3, (wallUs - inside) / steps / 1e3);
    byName.entrySet().stream().sorted(Comparator.comparingDouble((Map.Entry<String, double[]> e) -> -e.getValue()[1]))
        .forEach(e -> System.out.printf("  %-32s %7.1f calls/step %9.3f ms/step%n", e.getKey(), e.getValue()[0] / steps,
            e.getValue()[1] / steps / 1e3));
  }

  private static List<Event> read(Path trace) throws IOException {
    List<Event> events = new ArrayList<>();
    Matcher m = EVENT.matcher(Files.readString(trace));
    while (m.find()) {
      events.add(new Event(m.group(1), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
          Long.parseLong(m.group(4))));
    }
    return events;
  }

  /** Events not nested in another event of the same thread. */
  private static List<Event> topLevel(List<Event> events) {
    List<Event> sorted = new ArrayList<>(events);
    sorted.sort(Comparator.comparingLong(Event::thread).thenComparingDouble(Event::start)
        .thenComparingDouble(e -> -e.duration()));
    List<Event> top = new ArrayList<>();
    Deque<Event> open = new ArrayDeque<>();
    long thread = Long.MIN_VALUE;
    for (Event e : sorted) {
      if (e.thread() != thread) {
        open.clear();
        thread = e.thread();
      }
      while (!open.isEmpty() && open.peek().end() <= e.start()) {
        open.pop();
      }
      if (open.isEmpty()) {
        top.add(e);
      }
      open.push(e);
    }
    return top;
  }
}
