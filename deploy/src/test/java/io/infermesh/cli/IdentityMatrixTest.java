package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.cluster.v3.ClusterDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ShardGrpc;
import io.infermesh.api.v1.StageHello;
import io.infermesh.api.v1.StageReply;
import io.infermesh.api.v1.StageRequest;
import io.infermesh.certs.MeshCredentialFiles;
import io.infermesh.certs.Role;
import io.infermesh.certs.SpiffeId;
import io.infermesh.certs.TestPki;
import io.infermesh.core.config.CoreConfig;
import io.infermesh.core.lifecycle.ModelFiles;
import io.infermesh.core.server.CoreNode;
import io.infermesh.core.server.StageNode;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.config.MeshConfigLoader;
import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshNodeGroup;
import io.infermesh.xds.snapshot.MeshPolicy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Who may call what, for every caller against every gRPC surface of the mesh, each on a real
 * server on port 0 with certificates from one test CA: a core node ({@code Inference}), a pipeline
 * stage ({@code Shard}), an edge agent's gRPC API, the control plane (ADS as a proxyless node, ADS
 * as an Envoy with its SDS identity, CDS, SDS) and the standard health and reflection services.
 *
 * <p>Outcomes, as DESIGN.md states them: {@code OK}; {@code DENIED} (PERMISSION_DENIED: a mesh
 * identity whose role, trust domain or gateway identity may not have this); {@code REFUSED} (the
 * TLS handshake fails, so no call is ever made; the client sees UNAVAILABLE) for everything that is
 * not a valid mesh identity — plaintext, no client certificate, another CA, expired or not yet
 * valid, no or a malformed SPIFFE ID. Health and reflection are open to every role of the trust
 * domain (a prober needs no more), never to a caller without a valid mesh certificate.
 */
class IdentityMatrixTest {
  private static final String GATEWAY = "gateway-0";

  /** What a caller attempts. */
  enum Surface {
    CORE_INFERENCE, SHARD, EDGE_GRPC, ADS_PROXYLESS, ADS_OWN_ENVOY, SDS_OWN, SDS_OTHER_GATEWAY, CDS, HEALTH,
    REFLECTION
  }

  /** How an attempt ends. */
  enum Outcome { OK, DENIED, REFUSED }

  private static final Outcome O = Outcome.OK;
  private static final Outcome D = Outcome.DENIED;
  private static final Outcome R = Outcome.REFUSED;

  /**
   * The expected matrix. Columns in {@link Surface} order: core Inference, Shard, edge gRPC, ADS as
   * a proxyless node, ADS as the gateway's Envoy (with its key over SDS), SDS as the gateway's
   * Envoy, SDS as another gateway's Envoy, CDS, health, reflection.
   */
  private static final Map<String, Outcome[]> EXPECTED = new LinkedHashMap<>();

  static {
    //                          core Shard edge ADS-px ADS-env SDS SDS-other CDS health refl
    EXPECTED.put("edge",        new Outcome[] {O, D, D, O, D, D, D, D, O, O});
    EXPECTED.put("core",        new Outcome[] {D, O, D, O, D, D, D, D, O, O});
    EXPECTED.put("control",     new Outcome[] {D, D, D, D, D, D, D, D, O, O});
    EXPECTED.put("gateway",     new Outcome[] {O, D, O, O, O, O, D, O, O, O});
    EXPECTED.put("operator",    new Outcome[] {D, D, O, O, D, D, D, O, O, O});
    EXPECTED.put("other trust domain, same CA", new Outcome[] {D, D, D, D, D, D, D, D, D, D});
    EXPECTED.put("foreign CA",  new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("expired",     new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("not yet valid", new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("no URI SAN",  new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("SPIFFE ID with an unknown role", new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("SPIFFE ID missing segments", new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("SPIFFE ID in upper case", new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("https URI instead of spiffe", new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("plaintext",   new Outcome[] {R, R, R, R, R, R, R, R, R, R});
    EXPECTED.put("TLS without a client certificate", new Outcome[] {R, R, R, R, R, R, R, R, R, R});
  }

  private static Path root;
  private static TestPki pki;
  private static Path model;
  private static CoreNode core;
  private static StageNode stage;
  private static EdgeAgent edge;
  private static ControlPlane control;
  private static final Map<String, Function<Integer, ChannelCredentials>> CALLERS = new LinkedHashMap<>();
  private static final Map<String, ManagedChannel> CHANNELS = new ConcurrentHashMap<>();

  @BeforeAll
  static void start() throws Exception {
    root = Files.createTempDirectory("identity-matrix");
    pki = TestPki.create(root.resolve("pki"));
    model = TinyModels.write(TinyModelSpec.core(GgmlType.F32), root.resolve("models"));
    core = CoreNode.start(coreConfig("core-0", new CoreConfig.Stage(0, 1, "")));
    stage = StageNode.start(coreConfig("stage-1", new CoreConfig.Stage(1, 2, "")));
    stage.loadConfiguredModel();
    MeshCredentialFiles edgeFiles = pki.issue(Role.EDGE, "edge-0");
    edge = EdgeAgent.builder(EdgeConfig.defaults()
        .withModelPath(TinyModels.write(TinyModelSpec.edge(GgmlType.Q8_0), root.resolve("models")))
        .withHttpPort(0)
        .withGrpc(new EdgeConfig.Grpc("127.0.0.1", 0, Optional.of(EdgeConfig.Tls.builder(edgeFiles.certificateChain(),
            edgeFiles.privateKey()).clientCa(edgeFiles.trustBundle()).build()))))
        .start();
    control = startControlPlane();

    for (Role role : Role.values()) {
      MeshCredentialFiles files = role == Role.GATEWAY ? MeshCredentialFiles.in(root.resolve("pki").resolve(GATEWAY),
          GATEWAY) : pki.issue(role, role.pathName() + "-caller");
      CALLERS.put(role.pathName(), port -> tls(files));
    }
    MeshCredentialFiles otherDomain = pki.issueRaw("other-domain", "spiffe://other.test/test-1/edge/intruder");
    CALLERS.put("other trust domain, same CA", port -> tls(otherDomain));
    TestPki foreign = TestPki.create(root.resolve("foreign"));
    MeshCredentialFiles foreignEdge = foreign.issue(Role.EDGE, "edge-0");
    CALLERS.put("foreign CA", port -> tls(foreignEdge));
    MeshCredentialFiles expired = pki.issueExpired(Role.EDGE, "expired");
    CALLERS.put("expired", port -> tls(expired));
    MeshCredentialFiles early = pki.issueNotYetValid(Role.EDGE, "early");
    CALLERS.put("not yet valid", port -> tls(early));
    MeshCredentialFiles noUri = pki.issueRaw("no-uri", null);
    CALLERS.put("no URI SAN", port -> tls(noUri));
    MeshCredentialFiles unknownRole = pki.issueRaw("wizard", "spiffe://mesh.test/test-1/wizard/merlin");
    CALLERS.put("SPIFFE ID with an unknown role", port -> tls(unknownRole));
    MeshCredentialFiles short_ = pki.issueRaw("short", "spiffe://mesh.test/edge");
    CALLERS.put("SPIFFE ID missing segments", port -> tls(short_));
    MeshCredentialFiles upper = pki.issueRaw("upper", "spiffe://MESH.test/test-1/EDGE/x");
    CALLERS.put("SPIFFE ID in upper case", port -> tls(upper));
    MeshCredentialFiles https = pki.issueRaw("https", "https://mesh.test/test-1/edge/x");
    CALLERS.put("https URI instead of spiffe", port -> tls(https));
    CALLERS.put("plaintext", port -> InsecureChannelCredentials.create());
    CALLERS.put("TLS without a client certificate", port -> {
      try {
        return TlsChannelCredentials.newBuilder().trustManager(pki.caDirectory().resolve("ca.crt").toFile()).build();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    assertThat(CALLERS.keySet()).containsExactlyElementsOf(EXPECTED.keySet());
  }

  private static CoreConfig coreConfig(String name, CoreConfig.Stage stageOf) throws Exception {
    pki.issue(Role.CORE, name);
    return CoreConfig.builder(new CoreConfig.Node(name, TestPki.REGION),
            new CoreConfig.Tls(root.resolve("pki").resolve(name), name))
        .grpcPort(0)
        .model(CoreConfig.Model.builder("tiny-core").path(model).device("cpu").defaultMaxTokens(16).build())
        .scheduler(CoreConfig.Scheduling.builder().maxQueued(16).maxBatchSize(8).maxBatchTokens(256).prefillChunk(64)
            .build())
        .stage(stageOf)
        .metricsPort(-1)
        .build();
  }

  /** mTLS xDS as control-0, gateway certificates (only gateway-0's) from their own directory. */
  private static ControlPlane startControlPlane() throws Exception {
    pki.issue(Role.CONTROL, "control-0");
    pki.issue(Role.GATEWAY, GATEWAY);
    MeshConfig demo = MeshConfigLoader.defaults();
    MeshPolicy p = demo.policy();
    MeshPolicy policy = new MeshPolicy(TestPki.TRUST_DOMAIN, p.regions(), p.services(), p.burst(), p.upstream(),
        p.envoy(), true);
    ControlSettings settings = ControlSettings.builder().xds("127.0.0.1", 0).admin("127.0.0.1", -1)
        .credentials(new ControlSettings.Credentials(root.resolve("pki").resolve("control-0"), "control-0"))
        .gatewayCertificates(root.resolve("pki").resolve(GATEWAY)).refreshInterval(Duration.ofMillis(200)).build();
    MeshEndpoint endpoint = MeshEndpoint.builder("core-inference", "127.0.0.1", 9443, TestPki.REGION).build();
    return ControlPlane.builder(new MeshConfig(policy, settings, Optional.empty(), List.of(endpoint))).start();
  }

  private static ChannelCredentials tls(MeshCredentialFiles files) {
    try {
      return TlsChannelCredentials.newBuilder()
          .keyManager(files.certificateChain().toFile(), files.privateKey().toFile())
          .trustManager(pki.caDirectory().resolve("ca.crt").toFile())
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (ManagedChannel ch : CHANNELS.values()) {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : new AutoCloseable[] {control, edge, stage, core}) {
      if (c != null) {
        c.close();
      }
    }
  }

  static Stream<Arguments> cells() {
    List<Arguments> cells = new ArrayList<>();
    EXPECTED.forEach((caller, row) -> {
      for (Surface s : Surface.values()) {
        cells.add(Arguments.of(caller, s, row[s.ordinal()]));
      }
    });
    return cells.stream();
  }

  @ParameterizedTest(name = "{0} → {1}: {2}")
  @MethodSource("cells")
  void call_callerAgainstSurface_outcomeAsDesignStates(String caller, Surface surface, Outcome expected)
      throws Exception {
    Status status = attempt(caller, surface);
    assertThat(outcome(status)).as("%s → %s ended %s", caller, surface, status).isEqualTo(expected);
  }

  @Test
  void sds_gateway_getsItsOwnCertificateAndNoOneElses() throws Exception {
    ManagedChannel ch = channel("gateway", control.xdsPort());
    DiscoveryResponse r = first(SecretDiscoveryServiceGrpc.newStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
        ::streamSecrets, envoyNode(GATEWAY), Resources.V3.SECRET_TYPE_URL, "infermesh-identity").get(15,
        TimeUnit.SECONDS);
    Secret identity = r.getResourcesList().stream().map(a -> unpack(a)).filter(s -> s.hasTlsCertificate())
        .findFirst().orElseThrow();
    X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(identity.getTlsCertificate().getCertificateChain().getInlineString()
            .getBytes(StandardCharsets.US_ASCII)));
    assertThat(SpiffeId.fromCertificate(leaf)).isEqualTo(pki.idOf(Role.GATEWAY, GATEWAY));
  }

  private static Secret unpack(com.google.protobuf.Any any) {
    try {
      return any.unpack(Secret.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Outcome outcome(Status status) {
    return switch (status.getCode()) {
      case OK -> Outcome.OK;
      case PERMISSION_DENIED -> Outcome.DENIED;
      case UNAVAILABLE -> Outcome.REFUSED;
      default -> throw new AssertionError("unexpected outcome " + status);
    };
  }

  private static Status attempt(String caller, Surface surface) throws Exception {
    return switch (surface) {
      case CORE_INFERENCE -> unary(() -> InferenceGrpc.newBlockingStub(channel(caller, core.port()))
          .withDeadlineAfter(10, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance()));
      case EDGE_GRPC -> unary(() -> InferenceGrpc.newBlockingStub(channel(caller, edge.grpcPort().getAsInt()))
          .withDeadlineAfter(10, TimeUnit.SECONDS).listModels(ListModelsRequest.getDefaultInstance()));
      case HEALTH -> unary(() -> HealthGrpc.newBlockingStub(channel(caller, core.port()))
          .withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()));
      case REFLECTION -> reflection(channel(caller, core.port()));
      case SHARD -> shard(channel(caller, stage.port()));
      case ADS_PROXYLESS -> status(first(AggregatedDiscoveryServiceGrpc.newStub(channel(caller, control.xdsPort()))
          .withDeadlineAfter(10, TimeUnit.SECONDS)::streamAggregatedResources, proxylessNode(),
          Resources.V3.LISTENER_TYPE_URL, "core-inference"));
      case ADS_OWN_ENVOY -> status(first(AggregatedDiscoveryServiceGrpc.newStub(channel(caller, control.xdsPort()))
          .withDeadlineAfter(10, TimeUnit.SECONDS)::streamAggregatedResources, envoyNode(GATEWAY),
          Resources.V3.SECRET_TYPE_URL, "infermesh-identity"));
      case SDS_OWN -> status(first(SecretDiscoveryServiceGrpc.newStub(channel(caller, control.xdsPort()))
          .withDeadlineAfter(10, TimeUnit.SECONDS)::streamSecrets, envoyNode(GATEWAY),
          Resources.V3.SECRET_TYPE_URL, "infermesh-identity"));
      case SDS_OTHER_GATEWAY -> status(first(SecretDiscoveryServiceGrpc.newStub(channel(caller, control.xdsPort()))
          .withDeadlineAfter(10, TimeUnit.SECONDS)::streamSecrets, envoyNode("gateway-9"),
          Resources.V3.SECRET_TYPE_URL, "infermesh-identity"));
      case CDS -> status(first(ClusterDiscoveryServiceGrpc.newStub(channel(caller, control.xdsPort()))
          .withDeadlineAfter(10, TimeUnit.SECONDS)::streamClusters, proxylessNode(),
          Resources.V3.CLUSTER_TYPE_URL));
    };
  }

  /** The channel of {@code caller} to {@code port} on loopback (one per pair, closed at the end). */
  private static ManagedChannel channel(String caller, int port) {
    return CHANNELS.computeIfAbsent(caller + "@" + port, k -> Grpc.newChannelBuilderForAddress("127.0.0.1", port,
        CALLERS.get(caller).apply(port)).overrideAuthority("localhost").build());
  }

  private interface Call {
    void run() throws Exception;
  }

  private static Status unary(Call call) throws Exception {
    try {
      call.run();
      return Status.OK;
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  private static Status status(CompletableFuture<DiscoveryResponse> first) throws Exception {
    try {
      first.get(15, TimeUnit.SECONDS);
      return Status.OK;
    } catch (ExecutionException e) {
      return Status.fromThrowable(e.getCause());
    }
  }

  /** Opens a discovery stream, sends one request; the first response, or the stream's error. */
  private static CompletableFuture<DiscoveryResponse> first(
      Function<StreamObserver<DiscoveryResponse>, StreamObserver<DiscoveryRequest>> open, Node node, String typeUrl,
      String... names) {
    CompletableFuture<DiscoveryResponse> first = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> requests = open.apply(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse r) {
        first.complete(r);
      }

      @Override
      public void onError(Throwable t) {
        first.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        first.completeExceptionally(new IllegalStateException("stream completed"));
      }
    });
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).addAllResourceNames(List.of(names))
        .build());
    first.whenComplete((r, t) -> {
      try {
        requests.onCompleted();
      } catch (RuntimeException ignored) {
        // the stream already ended
      }
    });
    return first;
  }

  private static Node proxylessNode() {
    return node("matrix-client", "grpc", TestPki.REGION);
  }

  /** An Envoy whose node.id names gateway {@code name} of the test region. */
  private static Node envoyNode(String name) {
    return node(name, "envoy", TestPki.REGION);
  }

  private static Node node(String id, String role, String region) {
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
        .putFields(MeshNodeGroup.ROLE_KEY, Value.newBuilder().setStringValue(role).build())
        .putFields(MeshNodeGroup.REGION_KEY, Value.newBuilder().setStringValue(region).build())).build();
  }

  /** Says hello as stage 0 of 2; OK once the stage answers ready. */
  private static Status shard(ManagedChannel ch) throws Exception {
    CompletableFuture<Status> outcome = new CompletableFuture<>();
    StreamObserver<StageRequest> requests = ShardGrpc.newStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
        .forward(new StreamObserver<>() {
          @Override
          public void onNext(StageReply reply) {
            outcome.complete(Status.OK);
          }

          @Override
          public void onError(Throwable t) {
            outcome.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            outcome.complete(Status.OK);
          }
        });
    requests.onNext(StageRequest.newBuilder().setHello(StageHello.newBuilder().setModel("tiny-core")
        .setModelSha256(ModelFiles.sha256(model)).setStageIndex(0).setStageCount(2).setHiddenSize(128)
        .setKvSlots(16)).build());
    Status s = outcome.get(15, TimeUnit.SECONDS);
    if (s.isOk()) {
      requests.onCompleted();
    }
    return s;
  }

  /** Lists the services; OK once the server answers. */
  private static Status reflection(ManagedChannel ch) throws Exception {
    CompletableFuture<Status> outcome = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(ch)
        .withDeadlineAfter(10, TimeUnit.SECONDS).serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            outcome.complete(r.hasErrorResponse() ? Status.UNKNOWN.withDescription(r.toString()) : Status.OK);
          }

          @Override
          public void onError(Throwable t) {
            outcome.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            outcome.complete(Status.OK);
          }
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
    Status s = outcome.get(15, TimeUnit.SECONDS);
    if (s.isOk()) {
      requests.onCompleted();
    }
    return s;
  }
}
