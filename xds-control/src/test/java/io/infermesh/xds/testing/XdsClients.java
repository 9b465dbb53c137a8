package io.infermesh.xds.testing;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Real proxyless gRPC clients: channels on {@code xds:///core-inference}, configured by the
 * control plane under test. grpc-xds reads its bootstrap once per JVM, so each test class that
 * uses these runs in its own fork and calls {@link #installBootstrap} once, before the first
 * channel.
 *
 * <p>The routing tests' control planes serve plaintext on loopback, so their xDS channel is
 * plaintext too ({@code ProxylessBootstrap.plaintextLoopback}); {@code ProxylessMtlsXdsClientTest}
 * covers the mTLS xDS channel. Data-plane calls to the backends are real gRPC.
 */
public final class XdsClients {

  public static final String TARGET = "xds:///core-inference";
  public static final String BOOTSTRAP_PROPERTY = "io.grpc.xds.bootstrapConfig";
  public static final Metadata.Key<String> PIN =
      Metadata.Key.of("x-infermesh-model-version", Metadata.ASCII_STRING_MARSHALLER);

  private XdsClients() {}

  /** The bootstrap JSON of a proxyless node in {@code region} (plaintext xDS on loopback). */
  public static String bootstrap(int xdsPort, String nodeId, String region) {
    return io.infermesh.xds.server.ProxylessBootstrap.plaintextLoopback("127.0.0.1:" + xdsPort, nodeId, region);
  }

  /** Sets the JVM's bootstrap; fails if this JVM already has a different one. */
  public static void installBootstrap(String json) {
    String existing = System.getProperty(BOOTSTRAP_PROPERTY);
    if (existing != null && !existing.equals(json)) {
      throw new IllegalStateException("this JVM already has an xDS bootstrap; give the test class its own fork");
    }
    System.setProperty(BOOTSTRAP_PROPERTY, json);
  }

  public static ManagedChannel channel() {
    return Grpc.newChannelBuilder(TARGET, InsecureChannelCredentials.create()).build();
  }

  /** One Generate call; returns the node that served it. */
  public static String call(Channel channel, String pinnedVersion) {
    Channel target = channel;
    if (pinnedVersion != null) {
      Metadata headers = new Metadata();
      headers.put(PIN, pinnedVersion);
      target = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    CompletableFuture<String> served = new CompletableFuture<>();
    InferenceGrpc.newStub(target)
        .withDeadlineAfter(20, TimeUnit.SECONDS) // a first call resolves xDS over mTLS: slow on a loaded 2-core box
        .generate(GenerateRequest.newBuilder().setRequestId("t").setPrompt("hi").build(),
            new io.grpc.stub.StreamObserver<GenerateChunk>() {
              String first;

              @Override
              public void onNext(GenerateChunk chunk) {
                if (first == null) {
                  first = chunk.getServedBy().getNodeId();
                }
              }

              @Override
              public void onError(Throwable t) {
                served.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                served.complete(first);
              }
            });
    try {
      return served.get(25, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException sre) {
        throw sre;
      }
      throw new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("call did not complete within 25 s (its deadline is 20 s)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code n} calls; how many each node served. */
  public static Map<String, Integer> spread(Channel channel, int n, String pinnedVersion) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      counts.merge(call(channel, pinnedVersion), 1, Integer::sum);
    }
    return counts;
  }

  /** Like {@link #call} but returns null instead of throwing on an RPC failure. */
  public static String tryCall(Channel channel) {
    try {
      return call(channel, null);
    } catch (StatusRuntimeException e) {
      return null;
    }
  }
}
