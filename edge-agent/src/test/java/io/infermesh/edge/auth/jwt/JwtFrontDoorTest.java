package io.infermesh.edge.auth.jwt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.RSAKey;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.infermesh.api.v1.ChatMessage;
import io.infermesh.api.v1.ChatMessages;
import io.infermesh.api.v1.GenerateChunk;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.edge.GrpcTestEdge;
import io.infermesh.edge.HttpTestClient;
import io.infermesh.edge.HttpTestClient.Reply;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.JwtAuth;
import io.infermesh.edge.config.Privacy;
import io.infermesh.edge.privacy.PrivacyAction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bearer JWTs at the edge's front door, over real HTTP and real gRPC (TLS) to one agent on the tiny
 * model: a JWKS file with a generated RSA key, API keys still accepted beside it, refusals naming
 * the failure's class and never the token, and the token's claims applied (its privacy policy).
 */
class JwtFrontDoorTest {
  private static final String KEY = "sk-acme-000000000001";
  private static RSAKey rsa;
  private static GrpcTestEdge edge;
  private static HttpTestClient http;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("jwt-front-door");
    rsa = JwtTokens.rsa("rsa-1");
    Path jwks = Files.writeString(dir.resolve("jwks.json"), JwtTokens.jwks(rsa), UTF_8);
    EdgeConfig.Auth auth = new EdgeConfig.Auth(List.of(EdgeConfig.Tenant.builder("acme").keys(KEY).build()),
        Optional.of(JwtAuth.builder(JwtTokens.ISSUER, JwtTokens.AUDIENCE).jwksFile(jwks).build()));
    Privacy privacy = new Privacy(List.of(
        new Privacy.Policy("strict", Map.of("EMAIL", PrivacyAction.BLOCK), Map.of(), Map.of())), "");
    edge = GrpcTestEdge.start(dir.resolve("certs"), c -> c.withAuth(auth).withPrivacy(privacy));
    http = new HttpTestClient(edge.agent.httpPort());
  }

  @AfterAll
  static void stop() throws Exception {
    edge.close();
  }

  private static String token(Instant issued) throws Exception {
    return JwtTokens.sign(rsa, JwtTokens.claims(issued).build());
  }

  private static Reply post(String credential, String text) {
    return http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + text
        + "\"}], \"max_tokens\": 2}", "Authorization", "Bearer " + credential);
  }

  @Test
  void post_validJwt_isServed() throws Exception {
    assertThat(post(token(Instant.now()), "hello").status()).isEqualTo(200);
  }

  @Test
  void post_apiKeyBesideJwt_isStillServed() {
    assertThat(post(KEY, "hello").status()).isEqualTo(200);
  }

  @Test
  void post_expiredJwt_is401NamingTheClassNeverTheToken() throws Exception {
    String expired = token(Instant.now().minusSeconds(3600));

    Reply r = post(expired, "hello");

    assertThat(r.status()).isEqualTo(401);
    assertThat(r.json().at("/error/code").asText()).isEqualTo("invalid_token");
    assertThat(r.json().at("/error/message").asText()).contains("expired");
    assertThat(r.raw().body()).doesNotContain(expired).doesNotContain(expired.substring(expired.lastIndexOf('.')));
    assertThat(http.get("/metrics").raw().body()).contains("infermesh_edge_rejections_total{reason=\"jwt_expired\"}");
  }

  @Test
  void post_wrongAudienceOrForeignKey_is401NamingEach() throws Exception {
    String foreign = JwtTokens.sign(JwtTokens.rsa("rsa-1"), JwtTokens.claims(Instant.now()).build());
    String otherAudience = JwtTokens.sign(rsa, JwtTokens.claims(Instant.now()).audience("someone-else").build());

    assertThat(post(foreign, "hello").json().at("/error/message").asText()).contains("bad_signature");
    assertThat(post(otherAudience, "hello").json().at("/error/message").asText()).contains("wrong_audience");
    assertThat(post("eyJnot.a.token", "hello").status()).isEqualTo(401);
  }

  @Test
  void post_jwtNamingAPrivacyPolicy_appliesIt() throws Exception {
    Reply blocked = post(token(Instant.now()), "write to alice@example.com");
    Reply byKey = post(KEY, "write to alice@example.com");

    assertThat(blocked.status()).isEqualTo(400);
    assertThat(blocked.json().at("/error/message").asText()).contains("EMAIL").doesNotContain("alice");
    assertThat(byKey.status()).as("the key's tenant has no policy").isEqualTo(200);
  }

  @Test
  void post_jwtNamingAnUnknownPolicy_is401BadClaim() throws Exception {
    String token = JwtTokens.sign(rsa, JwtTokens.claims(Instant.now()).claim("privacy_policy", "lenient").build());

    Reply r = post(token, "hello");

    assertThat(r.status()).isEqualTo(401);
    assertThat(r.json().at("/error/message").asText()).contains("bad_claim");
  }

  private static InferenceGrpc.InferenceBlockingStub grpc(String credential) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + credential);
    return InferenceGrpc.newBlockingStub(edge.channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static GenerateRequest chat() {
    return GenerateRequest.newBuilder()
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi")))
        .setSampling(SamplingParams.newBuilder().setMaxTokens(2))
        .build();
  }

  @Test
  void generate_validJwtInMetadata_isServed() throws Exception {
    List<GenerateChunk> chunks = new ArrayList<>();
    grpc(token(Instant.now())).generate(chat()).forEachRemaining(chunks::add);

    assertThat(chunks).isNotEmpty();
    assertThat(chunks.get(chunks.size() - 1).hasUsage()).isTrue();
  }

  @Test
  void generate_expiredJwtInMetadata_isUnauthenticatedNamingTheClass() throws Exception {
    String expired = JwtTokens.sign(rsa, JwtTokens.claims(Instant.now().minusSeconds(7200))
        .expirationTime(Date.from(Instant.now().minusSeconds(3600))).build());

    assertThatThrownBy(() -> grpc(expired).generate(chat()).forEachRemaining(c -> { }))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(e.getStatus().getDescription()).contains("expired").doesNotContain(expired);
        });
  }
}
