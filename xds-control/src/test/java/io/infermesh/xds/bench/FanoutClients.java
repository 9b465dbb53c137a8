package io.infermesh.xds.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.xds.XdsNameResolverProvider;
import io.infermesh.xds.testing.XdsClients;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * N real grpc-xds clients of {@code core-inference}, each its own XdsClient with its own node
 * ({@code bench-i}) and ADS stream (one URI scheme each, since grpc-xds shares its client per
 * target), connected and warmed by one call each. {@link ClientFanoutBenchmark} runs them in its
 * own JVM or, through {@link #main}, in a child JVM so the control plane does not share a JVM
 * (heap, GC, JIT, executor threads) with 100 xDS clients.
 */
final class FanoutClients implements AutoCloseable {

  private final List<ManagedChannel> channels = new ArrayList<>();

  FanoutClients(int xdsPort, int n, String region) throws Exception {
    ObjectMapper json = new ObjectMapper();
    for (int i = 0; i < n; i++) {
      String scheme = "xdsbench" + i;
      @SuppressWarnings("unchecked")
      Map<String, ?> bootstrap = json.readValue(XdsClients.bootstrap(xdsPort, "bench-" + i, region), Map.class);
      NameResolverRegistry.getDefaultRegistry().register(XdsNameResolverProvider.createForTest(scheme, bootstrap));
      channels.add(Grpc.newChannelBuilder(scheme + ":///core-inference", InsecureChannelCredentials.create()).build());
    }
    for (ManagedChannel c : channels) {
      XdsClients.call(c, null); // connect, resolve, warm
    }
  }

  /** Null when every client's next call is served by {@code expected}, else what went wrong. */
  String check(String expected) {
    for (ManagedChannel c : channels) {
      String served = XdsClients.call(c, null);
      if (!served.equals(expected)) {
        return "a client still routes to " + served + " after acking";
      }
    }
    return null;
  }

  @Override
  public void close() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Child-JVM mode: {@code xdsPort n region}. Prints {@code READY} once every client is warm, then
   * answers each {@code CHECK <backend>} line on stdin with {@code OK} or {@code FAIL <why>}, and
   * exits at end of input.
   */
  public static void main(String[] args) throws Exception {
    try (FanoutClients clients = new FanoutClients(Integer.parseInt(args[0]), Integer.parseInt(args[1]), args[2])) {
      System.out.println("READY");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (line.startsWith("CHECK ")) {
          String failure = clients.check(line.substring("CHECK ".length()));
          System.out.println(failure == null ? "OK" : "FAIL " + failure);
          System.out.flush();
        }
      }
    }
    System.exit(0); // grpc-xds leaves non-daemon threads behind
  }
}
