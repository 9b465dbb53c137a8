package io.infermesh.edge.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@link NativeLibraryProbe} child JVM: the binding with its bundled library (no {@code libDir})
 * or with {@code -Dde.kherud.llama.lib.path=libDir}. Both kinds get the same JVM flags, so the
 * library is the only difference. Its other output goes to a log under {@code target/}.
 */
public final class ProbeProcess implements AutoCloseable {
  /** The key of {@link #threadCpu()} that holds the whole process's CPU seconds. */
  public static final String PROCESS = "(process)";

  private final Process process;
  private final Writer stdin;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final String what;
  private final Path log;

  private ProbeProcess(Process process, String what, Path log) {
    this.process = process;
    this.what = what;
    this.log = log;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(this::read, "probe-reader-" + what);
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code NativeLibraryProbe mode args...} and returns once it said which library it mapped. */
  public static ProbeProcess start(String what, Optional<Path> libDir, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
    libDir.ifPresent(d -> command.add("-Dde.kherud.llama.lib.path=" + d.toAbsolutePath()));
    command.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        NativeLibraryProbe.class.getName()));
    command.addAll(List.of(args));
    Path log = Path.of("target", "probe-" + what.replaceAll("[^A-Za-z0-9]+", "-") + ".log").toAbsolutePath();
    Files.deleteIfExists(log);
    Process p = new ProcessBuilder(command).redirectError(log.toFile()).start();
    return new ProbeProcess(p, what, log);
  }

  private void read() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.startsWith(NativeLibraryProbe.PREFIX)) {
          lines.add(line.substring(NativeLibraryProbe.PREFIX.length()));
        }
      }
    } catch (IOException e) {
      // the process ended; expect() reports it
    }
  }

  /** The value of the next line that starts with {@code key + " "}; waits up to 10 minutes. */
  public String expect(String key) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (System.nanoTime() < deadline) {
      String line = lines.poll(200, TimeUnit.MILLISECONDS);
      if (line != null && (line.equals(key) || line.startsWith(key + " "))) {
        return line.substring(key.length()).strip();
      }
      if (line == null && !process.isAlive() && lines.isEmpty()) {
        throw new IOException(what + " exited with " + process.exitValue() + " before '" + key + "'; see " + log);
      }
    }
    throw new IOException(what + ": no '" + key + "' in 10 minutes; see " + log);
  }

  /** Sends one line to the child. */
  public void send(String line) throws IOException {
    stdin.write(line + "\n");
    stdin.flush();
  }

  public long pid() {
    return process.pid();
  }

  /**
   * CPU seconds (user + system) per native thread name of the child, from {@code /proc/PID/task/*}{@code /stat}
   * (fields 14 and 15, in clock ticks of 1/100 s on Linux), and under {@value #PROCESS} the whole
   * process's, which keeps the time of threads that ended (a thread's own count leaves with it).
   */
  public Map<String, Double> threadCpu() {
    Map<String, Double> cpu = new HashMap<>();
    Path proc = Path.of("/proc", "" + process.pid());
    try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          cpu.merge(name(task), seconds(task), Double::sum);
        } catch (IOException e) {
          // the thread ended meanwhile
        }
      }
      cpu.put(PROCESS, seconds(proc));
    } catch (IOException e) {
      return Map.of();
    }
    return cpu;
  }

  private static String name(Path task) throws IOException {
    String stat = Files.readString(task.resolve("stat"));
    return stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  }

  private static double seconds(Path task) throws IOException {
    String stat = Files.readString(task.resolve("stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // utime, stime
  }

  @Override
  public void close() throws InterruptedException {
    try {
      stdin.close();
    } catch (IOException e) {
      // already gone
    }
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
