package io.infermesh.edge.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A native {@code llama-server} (built outside the repository) on a free loopback port, the
 * baseline the edge's benchmarks measure beside: started and healthy when {@link #start} returns,
 * stopped by {@link #close}. Its output goes to a log file named in every failure.
 */
public final class LlamaServerProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private final Process process;
  private final int port;

  private LlamaServerProcess(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /**
   * Starts {@code bin/llama-server -m model --host 127.0.0.1 --port P args...} and waits up to
   * {@code healthyWithin} for its {@code /health}.
   *
   * @throws IllegalStateException when it exits or is not healthy in time (the log's path is named)
   */
  public static LlamaServerProcess start(Path bin, Path model, Path log, Duration healthyWithin, String... args)
      throws IOException, InterruptedException {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    List<String> command = new ArrayList<>(List.of(bin.resolve("llama-server").toString(), "-m", model.toString(),
        "--host", "127.0.0.1", "--port", Integer.toString(port)));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("LD_LIBRARY_PATH", bin.toString()); // its shared libraries sit beside it
    LlamaServerProcess server = new LlamaServerProcess(builder.start(), port);
    long deadline = System.nanoTime() + healthyWithin.toNanos();
    while (!server.healthy()) {
      if (!server.process.isAlive()) {
        throw new IllegalStateException("llama-server exited with " + server.process.exitValue() + "; see " + log);
      }
      if (System.nanoTime() > deadline) {
        server.process.destroyForcibly();
        throw new IllegalStateException("llama-server not healthy in " + healthyWithin + "; see " + log);
      }
      server.process.waitFor(200, TimeUnit.MILLISECONDS);
    }
    return server;
  }

  /** The line {@code bin/llama-server --version} starts with "version", or why there is none. */
  public static String version(Path bin) {
    try {
      Process p = new ProcessBuilder(bin.resolve("llama-server").toString(), "--version").redirectErrorStream(true)
          .start();
      try (InputStream in = p.getInputStream()) {
        String out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out.lines().filter(l -> l.startsWith("version")).findFirst().orElse("version unknown").strip();
      }
    } catch (IOException e) {
      return "version unknown: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "version unknown: interrupted";
    }
  }

  /** Its loopback port. */
  public int port() {
    return port;
  }

  private boolean healthy() throws InterruptedException {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false; // not listening yet
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
