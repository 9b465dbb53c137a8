package io.infermesh.xds.bench;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Heap of a control plane (its own JVM, -Xmx1g) with 0 and with N connected proxyless nodes
 * (simulated: each an ADS stream subscribed to LDS/RDS/CDS/EDS and ACKing), measured after a
 * full GC ({@code jcmd GC.run}) from the control plane's own {@code jvm_memory_used_bytes}.
 *
 * <pre>java -cp ... io.infermesh.xds.bench.ControlPlaneMemoryBenchmark [nodes=1000]</pre>
 *
 * Not run by {@code verify}.
 */
public final class ControlPlaneMemoryBenchmark {

  private ControlPlaneMemoryBenchmark() {}

  public static void main(String[] args) throws Exception {
    int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    String java = ProcessHandle.current().info().command().orElse("java");
    Process cp = new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"),
        ControlPlaneMain.class.getName(), "30").redirectErrorStream(true).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(cp.getInputStream(), StandardCharsets.UTF_8));
    String line;
    String[] ports = null;
    while ((line = out.readLine()) != null) {
      if (line.startsWith("PORTS ")) {
        ports = line.substring(6).split(" ");
        break;
      }
    }
    if (ports == null) {
      throw new IllegalStateException("control plane did not start");
    }
    Thread drain = new Thread(() -> {
      try {
        out.lines().forEach(l -> { });
      } catch (UncheckedIOException e) {
        // the control plane was stopped
      }
    }, "drain");
    drain.setDaemon(true);
    drain.start();
    int xds = Integer.parseInt(ports[0]);
    int admin = Integer.parseInt(ports[1]);
    long pid = Long.parseLong(ports[2]);
    try {
      Thread.sleep(2_000);
      long baseline = heapAfterGc(pid, admin);
      List<ManagedChannel> channels = new ArrayList<>();
      List<SimulatedXdsClient> clients = new ArrayList<>();
      for (int c = 0; c < 10; c++) {
        channels.add(Grpc.newChannelBuilder("127.0.0.1:" + xds, InsecureChannelCredentials.create()).build());
      }
      long start = System.nanoTime();
      String[] regions = {"eu-west", "us-east", "public-burst"};
      for (int i = 0; i < nodes; i++) {
        clients.add(new SimulatedXdsClient(channels.get(i % channels.size()), "sim-" + i, regions[i % 3]));
      }
      while (clients.stream().anyMatch(c -> c.responses.get() < 4)) {
        Thread.sleep(50);
      }
      long connectedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      Thread.sleep(1_000);
      long loaded = heapAfterGc(pid, admin);
      System.out.printf("control plane heap after GC: %.1f MiB idle, %.1f MiB with %d nodes connected "
          + "(%.1f KiB per node); all %d had LDS/RDS/CDS/EDS in %d ms%n",
          baseline / 1048576.0, loaded / 1048576.0, nodes, (loaded - baseline) / 1024.0 / nodes, nodes, connectedMillis);
      clients.forEach(SimulatedXdsClient::close);
      channels.forEach(ManagedChannel::shutdownNow);
    } finally {
      cp.destroy();
      cp.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static long heapAfterGc(long pid, int adminPort) throws Exception {
    new ProcessBuilder("jcmd", Long.toString(pid), "GC.run").redirectErrorStream(true).start().waitFor();
    Thread.sleep(500);
    String metrics = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    long total = 0;
    for (String l : metrics.split("\n")) {
      if (l.startsWith("jvm_memory_used_bytes{") && l.contains("area=\"heap\"")) {
        total += (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }
}
