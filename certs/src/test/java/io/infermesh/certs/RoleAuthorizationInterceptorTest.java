package io.infermesh.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The interceptor's decisions for sessions a TLS server would never let through, driven in-process
 * with a stand-in TLS session.
 */
class RoleAuthorizationInterceptorTest {
  @TempDir Path dir;

  private final RoleAuthorizationPolicy policy =
      RoleAuthorizationPolicy.builder().allow(InferenceGrpc.SERVICE_NAME, Role.EDGE).build();
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void call_withoutTlsSession_isUnauthenticated() throws Exception {
    start(null);

    assertRefused(Status.Code.UNAUTHENTICATED, "this server requires mutual TLS");
  }

  @Test
  void call_sessionWithoutPeerCertificate_isUnauthenticated() throws Exception {
    start(session(null));

    assertRefused(Status.Code.UNAUTHENTICATED, "a client certificate is required");
  }

  @Test
  void call_peerWithoutSpiffeId_isUnauthenticated() throws Exception {
    TestPki pki = TestPki.create(dir);
    start(session(new Certificate[] {pki.ca().certificate()}));

    assertRefused(Status.Code.UNAUTHENTICATED, "the client certificate carries no mesh SPIFFE ID");
  }

  @Test
  void call_peerOfAnotherTrustDomain_isPermissionDenied() throws Exception {
    TestPki other = TestPki.create(dir, "other.test");
    start(session(new Certificate[] {other.leaf(Role.EDGE, "e1").certificate()}));

    assertRefused(Status.Code.PERMISSION_DENIED,
        "caller spiffe://other.test/test-1/edge/e1 is not in this server's trust domain");
  }

  @Test
  void call_allowedPeer_reachesServiceWithIdentityInContext() throws Exception {
    TestPki pki = TestPki.create(dir);
    start(session(new Certificate[] {pki.leaf(Role.EDGE, "e1").certificate()}));

    String seen = InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .listModels(ListModelsRequest.getDefaultInstance()).getModels(0).getName();

    assertThat(seen).isEqualTo("spiffe://mesh.test/test-1/edge/e1");
  }

  @Test
  void call_roleNotAllowed_isPermissionDenied() throws Exception {
    TestPki pki = TestPki.create(dir);
    start(session(new Certificate[] {pki.leaf(Role.CORE, "c1").certificate()}));

    assertRefused(Status.Code.PERMISSION_DENIED, "role 'core' may not call infermesh.v1.Inference/ListModels");
  }

  private void start(SSLSession session) throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name)
        .addService(ServerInterceptors.intercept(new PeerEchoService(),
            RoleAuthorizationInterceptor.of(TestPki.TRUST_DOMAIN, policy)))
        .addTransportFilter(new ServerTransportFilter() {
          @Override
          public Attributes transportReady(Attributes attributes) {
            return session == null ? attributes
                : attributes.toBuilder().set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session).build();
          }
        })
        .build()
        .start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  private void assertRefused(Status.Code code, String description) {
    assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
            .listModels(ListModelsRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(code);
          assertThat(e.getStatus().getDescription()).isEqualTo(description);
        });
  }

  /** A TLS session whose only working method is getPeerCertificates (null: the peer sent none). */
  private static SSLSession session(Certificate[] peerCertificates) {
    return (SSLSession) Proxy.newProxyInstance(SSLSession.class.getClassLoader(), new Class<?>[] {SSLSession.class},
        (proxy, method, args) -> {
          if (method.getName().equals("getPeerCertificates")) {
            if (peerCertificates == null) {
              throw new SSLPeerUnverifiedException("peer not authenticated");
            }
            return peerCertificates.clone();
          }
          if (method.getName().equals("toString")) {
            return "FakeSSLSession";
          }
          throw new UnsupportedOperationException(method.getName());
        });
  }
}
