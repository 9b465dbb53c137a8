package io.infermesh.edge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.privacy.Masked;
import io.infermesh.edge.privacy.PrivacyAction;
import io.infermesh.edge.privacy.PrivacyPolicies;
import io.infermesh.node.audit.AuditFsync;
import io.infermesh.node.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EdgeConfigLoaderTest {
  private static final Path BASE = Path.of("/etc/infermesh");

  @Test
  void parse_emptyDocument_givesDefaults() {
    assertThat(EdgeConfigLoader.parse("", BASE)).isEqualTo(EdgeConfig.defaults());
  }

  @Test
  void load_annotatedExampleInDeploy_isValid() throws Exception {
    Path example = Path.of("..", "deploy", "edge.yaml");
    assertThat(example).exists();

    EdgeConfig config = EdgeConfigLoader.load(example);

    assertThat(config.model().path()).isEqualTo(example.toAbsolutePath().getParent().resolve("../mesh/models/tiny-edge-q8_0.gguf").normalize());
    assertThat(config.model().name()).isNull();
    assertThat(config.model().sha256()).isNull();
    assertThat(config.http().maxBodyBytes()).isEqualTo(1 << 20);
    assertThat(config.grpc().enabled()).isFalse();
    assertThat(config.auth().enabled()).isFalse();
    assertThat(config.escalation().enabled()).isFalse();
    assertThat(config.consul()).as("every consul key at its default").isEqualTo(EdgeConfig.CONSUL_DEFAULT);
    assertThat(config.escalation().tlsDir()).isEqualTo(example.toAbsolutePath().getParent().resolve("../mesh/certs").normalize());
    assertThat(config.withModelPath(null).withEscalation(Escalation.NONE)).isEqualTo(EdgeConfig.defaults());
  }

  @Test
  void parse_chatTemplateCheckpoint_isAccepted() {
    assertThat(EdgeConfigLoader.parse("model: {chat_template: checkpoint}", BASE).model().chatTemplate())
        .isEqualTo("checkpoint");
  }

  @Test
  void parse_everyKey_readsTypedValues() {
    EdgeConfig config = EdgeConfigLoader.parse("""
        node: {name: shop-42, region: eu-west}
        model:
          path: models/m.gguf
          name: small
          sha256: SHA256:%s
          context_size: 4096
          threads: 3
          parallel: 2
          chat_template: llama3
          default_max_tokens: 128
        http: {host: 127.0.0.1, port: 8081, max_body_bytes: 2MiB, stream_flush_interval: 5ms, max_threads: 64,
          selectors: 3}
        grpc:
          port: 9091
          tls: {cert: certs/e.crt, key: certs/e.key, client_ca: certs/ca.crt, allowed_roles: [gateway]}
        admission: {queue_depth: 4, retry_after: 500ms, request_timeout: 2m}
        cache: {enabled: false, max_bytes: 1024, ttl: 1h}
        auth:
          tenants:
            - {name: acme, keys: [sk-acme-12345], requests_per_minute: 60, tokens_per_minute: 1000}
        shutdown: {grace: 3s}
        consul:
          address: http://127.0.0.1:8500/
          token: s3cret
          service_name: edge-eu
          service_address: 10.0.9.1
          tier: public
          check_interval: 5s
          deregister_after: 2m
        """.formatted("A".repeat(64)), BASE);

    assertThat(config.node()).isEqualTo(new EdgeConfig.Node("shop-42", "eu-west"));
    assertThat(config.model().path()).isEqualTo(Path.of("/etc/infermesh/models/m.gguf"));
    assertThat(config.model().sha256()).isEqualTo("a".repeat(64));
    assertThat(config.model().effectiveName()).isEqualTo("small");
    assertThat(config.model().contextSize()).isEqualTo(4096);
    assertThat(config.http().maxBodyBytes()).isEqualTo(2L << 20);
    assertThat(config.http().maxThreads()).isEqualTo(64);
    assertThat(config.http().effectiveSelectors(2)).isEqualTo(3);
    assertThat(config.http().streamFlushInterval()).isEqualTo(Duration.ofMillis(5));
    assertThat(config.grpc().tls()).hasValueSatisfying(tls -> {
      assertThat(tls.mutual()).isTrue();
      assertThat(tls.clientCa()).contains(Path.of("/etc/infermesh/certs/ca.crt"));
      assertThat(tls.allowedRoles()).containsExactly("gateway");
    });
    assertThat(config.admission()).isEqualTo(
        new EdgeConfig.Admission(4, Duration.ofMillis(500), Duration.ofMinutes(2)));
    assertThat(config.cache()).isEqualTo(new EdgeConfig.Cache(false, 1024, Duration.ofHours(1)));
    assertThat(config.auth().tenants()).containsExactly(
        EdgeConfig.Tenant.builder("acme").keys("sk-acme-12345").requestsPerMinute(60).tokensPerMinute(1000).build());
    assertThat(config.shutdown().grace()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.consul()).isEqualTo(EdgeConfig.CONSUL_DEFAULT.toBuilder().address("http://127.0.0.1:8500")
        .token("s3cret").serviceName("edge-eu").serviceAddress("10.0.9.1").tier("public")
        .checkInterval(Duration.ofSeconds(5)).deregisterAfter(Duration.ofMinutes(2)).build());
    assertThat(config.consul().enabled()).isTrue();
  }

  @Test
  void parse_httpTls_readsEveryKey_clientAuthDefaultsToRequireWithACa() {
    EdgeConfig mutual = EdgeConfigLoader.parse("""
        http:
          host: 0.0.0.0
          tls: {cert: certs/e.crt, key: certs/e.key, client_ca: certs/ca.crt, refresh_period: 10s}
        """, BASE);
    EdgeConfig optional = EdgeConfigLoader.parse(
        "http: {allow_plaintext: true, tls: {cert: e.crt, key: e.key, client_ca: ca.crt, client_auth: optional}}",
        BASE);
    EdgeConfig serverOnly = EdgeConfigLoader.parse("http: {tls: {cert: e.crt, key: e.key}}", BASE);

    assertThat(mutual.http().tls()).contains(EdgeConfig.HttpTls.builder(Path.of("/etc/infermesh/certs/e.crt"),
            Path.of("/etc/infermesh/certs/e.key")).clientCa(Path.of("/etc/infermesh/certs/ca.crt"))
        .clientAuth(EdgeConfig.ClientAuth.REQUIRE).refreshPeriod(Duration.ofSeconds(10)).build());
    assertThat(mutual.http().allowPlaintext()).isFalse();
    assertThat(optional.http().tls().get().clientAuth()).isEqualTo(EdgeConfig.ClientAuth.OPTIONAL);
    assertThat(optional.http().allowPlaintext()).isTrue();
    assertThat(serverOnly.http().tls()).contains(EdgeConfig.HttpTls.serverOnly(Path.of("/etc/infermesh/e.crt"),
        Path.of("/etc/infermesh/e.key")));
    assertThat(serverOnly.withHttpPort(1).http().tls()).as("a port flag keeps TLS").isPresent();
    assertThat(EdgeConfig.defaults().http().host()).as("loopback unless said otherwise").isEqualTo("127.0.0.1");
    assertThat(EdgeConfig.defaults().http().secure()).isFalse();
  }

  @Test
  void parse_cascade_readsEveryKey() {
    EdgeConfig config = EdgeConfigLoader.parse("""
        routing:
          cascade: {enabled: true, samples: 4, sample_max_tokens: 8, temperature: 1.2, min_agreement: 0.7}
        """, BASE);
    assertThat(config.routing().cascade()).isEqualTo(Cascade.builder().enabled(true).samples(4).sampleMaxTokens(8)
        .temperature(1.2).minAgreement(0.7).build());
    assertThat(EdgeConfig.defaults().routing().cascade().enabled()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      model: {contxt_size: 10}                          | model.contxt_size: unknown key
      colour: blue                                      | colour: unknown key
      model: {context_size: 10}                         | model.context_size: must be in [64, 1048576]
      model: {context_size: big}                        | model.context_size: must be an integer
      model: {sha256: abc}                              | model.sha256: must be 64 hex digits
      model: {chat_template: jinja}                     | model.chat_template: must be one of
      model: {parallel: 0}                              | model.parallel: must be in [1, 256]
      http: {port: 70000}                               | http.port: must be a port number
      http: {max_body_bytes: 12 parsecs}                | http.max_body_bytes: must be a size
      http: {stream_flush_interval: 2s}                 | http.stream_flush_interval: must be in [0ms, 1s]
      http: {tls: {key: k.pem}}                         | http.tls.cert: is required when http.tls is set
      http: {tls: {cert: c.pem}}                        | http.tls.key: is required when http.tls is set
      http: {tls: {cert: c, key: k, client_auth: yes}}  | http.tls.client_auth: must be none, optional or require, got 'true'
      http: {tls: {cert: c, key: k, client_auth: maybe}} | http.tls.client_auth: must be none, optional or require, got 'maybe'
      http: {tls: {cert: c, key: k, client_auth: require}} | http.tls.client_ca: is required when http.tls.client_auth is require
      http: {tls: {cert: c, key: k, client_ca: ca, client_auth: none}} | http.tls.client_auth: is none, so http.tls.client_ca would be ignored
      http: {tls: {cert: c, key: k, refresh_period: 0s}} | http.tls.refresh_period: must be positive
      http: {tls: {cert: c, key: k, ca: x}}             | http.tls.ca: unknown key
      http: {allow_plaintext: sure}                     | http.allow_plaintext: must be true or false
      http: {max_threads: 8}                            | http.max_threads: must be in [16, 10000], got 8
      http: {max_threads: many}                         | http.max_threads: must be an integer
      http: {selectors: -1}                             | http.selectors: must be in [0, 64]
      admission: {retry_after: soon}                    | admission.retry_after: must be a duration
      admission: {queue_depth: -1}                      | admission.queue_depth: must be in [0, 100000]
      cache: {enabled: maybe}                           | cache.enabled: must be true or false
      grpc: {tls: {key: k.pem}}                         | grpc.tls.cert: is required
      grpc: {tls: {cert: c, key: k, allowed_roles: [pilot]}} | grpc.tls.allowed_roles: unknown role 'pilot'
      auth: {tenants: [{name: a, keys: [sk-aaaaaaaa]}, {name: b, keys: [short]}]} | auth.tenants[1].keys: tenant 'b': keys must be at least 8
      auth: {tenants: [{name: a, keys: [sk-aaaaaaaa]}, {name: a, keys: [sk-bbbbbbbb]}]} | auth.tenants[1].name: duplicate tenant 'a'
      node: {name: Shop_42}                             | node.name: must be a lower-case DNS label
      consul: {address: '127.0.0.1:8500'}               | consul.address: must be the agent's http(s)://host:port
      consul: {tier: cheap}                             | consul.tier: must be private or public
      consul: {check_interval: 500ms}                   | consul.check_interval: must be at least 1s
      consul: {deregister_after: 30s}                   | consul.deregister_after: must be at least 1m
      consul: {service_name: 'a b'}                     | consul.service_name: must be letters
      consul: {adress: x}                               | consul.adress: unknown key
      model: [1, 2]                                     | model: must be a mapping
      'model: {path: [a'                                | (yaml): not valid YAML
      routing: {cascade: {samples: 1}}                  | routing.cascade.samples: must be at least 2
      routing: {cascade: {temperature: 0}}              | routing.cascade.temperature: must be in (0, 2]
      routing: {cascade: {min_agreement: 1.5}}          | routing.cascade.min_agreement: must be in [0, 1]
      routing: {cascade: {min_agreement: high}}         | routing.cascade.min_agreement: must be a number
      routing: {cascade: {sample_max_tokens: 0}}        | routing.cascade.sample_max_tokens: must be at least 1
      routing: {cascade: {enable: true}}                | routing.cascade.enable: unknown key
      privacy: {policies: [{name: p, mask: [EMALE]}]}   | privacy.policies[0].mask: policy 'p': unknown detector EMALE
      privacy: {policies: [{name: p, mask: [EMAIL], block: [EMAIL]}]} | privacy.policies[0].block: detector EMAIL is given two actions
      privacy: {policies: [{name: p, regexes: [{kind: T, pattern: "["}]}]} | privacy.policies[0].regexes: policy 'p': Unclosed character class
      privacy: {policies: [{name: p, words: [{kind: X, values: [a], action: hide}]}]} | privacy.policies[0].words[0].action: unknown privacy action 'hide'
      privacy: {policies: [{name: p, words: [{kind: lower, values: [a]}]}]} | privacy.policies[0].words: policy 'p': detector kind 'lower' must be
      privacy: {policies: [{name: p}, {name: p}]}       | privacy.policies[1].name: duplicate policy 'p'
      privacy: {policies: [{mask: [EMAIL]}]}            | privacy.policies[0].name: must be set
      privacy: {default_policy: strict}                 | privacy.default_policy: names policy 'strict', which privacy.policies does not define
      privacy: {policies: [{name: p, hide: [EMAIL]}]}   | privacy.policies[0].hide: unknown key
      privacy: {policies: [{name: p, output: drop}]}    | privacy.policies[0].output: must be redact or pass, got 'drop'
      auth: {tenants: [{name: a, keys: [sk-aaaaaaaa], privacy_policy: p}]} | auth.tenants[0].privacy_policy: names policy 'p'
      auth: {tenants: [{name: a, keys: [sk-aaaaaaaa], tokens_per_day: -1}]} | auth.tenants[0].tokens_per_day: must not be negative
      auth: {jwt: {issuer: i, audience: a}}             | auth.jwt.jwks_file: set exactly one of jwks_file and jwks_url
      audit: {fsync: sometimes}                         | audit.fsync: unknown fsync policy 'sometimes'
      audit: {max_file_bytes: 1KiB}                     | audit.max_file_bytes: must be at least 4KiB
      audit: {fsync_interval: 0s}                       | audit.fsync_interval: must be positive
      auth: {jwt: {jwks_url: 'http://idp/k', issuer: i, audience: a}} | auth.jwt.jwks_url: must be an https:// URL
      auth: {jwt: {jwks_file: k.json, audience: a}}     | auth.jwt.issuer: must be set
      auth: {jwt: {jwks_file: k.json, issuer: i, audience: a, clock_skew: 10m}} | auth.jwt.clock_skew: must be in [0s, 5m]
      auth: {jwt: {jwks_file: k.json, issuer: i, audience: a, kid: x}} | auth.jwt.kid: unknown key
      auth: {tenants: [{name: a, keys: [sk-aaaaaaaa], tokens_per_month: -5}]} | auth.tenants[0].tokens_per_month: must not be negative
      batch: {enabled: true}                            | batch.data_dir: not set
      batch: {store: mysql}                             | batch.store: must be sqlite or postgresql, got 'mysql'
      batch: {enabled: true, store: postgresql, jdbc_url: 'jdbc:mysql://x'} | batch.jdbc_url: must be a jdbc:postgresql: URL
      batch: {concurrency: 0}                           | batch.concurrency: must be 1 to 256
      batch: {max_lines: 0}                             | batch.max_lines: must be at least 1
      batch: {lease: 0s}                                | batch.lease: must be positive
      batch: {workers: 2}                               | batch.workers: unknown key
      """)
  void parse_badValue_namesTheKey(String yaml, String expected) {
    assertThatThrownBy(() -> EdgeConfigLoader.parse(yaml, BASE))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(expected);
  }

  @Test
  void parse_batch_everyKey() {
    Batches batch = EdgeConfigLoader.parse("""
        batch: {enabled: true, store: sqlite, data_dir: jobs, concurrency: 3, max_file_bytes: 10MiB, max_lines: 500,
                completion_window: 1h, lease: 30s}
        """, BASE).batch();

    assertThat(batch).isEqualTo(new Batches(true, Batches.Store.SQLITE, Optional.of(BASE.resolve("jobs")), "", "", "",
        3, 10L << 20, 500, Duration.ofHours(1), Duration.ofSeconds(30)));
    assertThat(EdgeConfigLoader.parse("", BASE).batch()).isEqualTo(Batches.NONE);
    assertThat(EdgeConfigLoader.parse("batch: {enabled: true, store: postgresql, jdbc_url: 'jdbc:postgresql://db/q',"
        + " user: edge, password: s3cret}", BASE).batch().toString()).contains("password=***").doesNotContain("s3cret");
  }

  @Test
  void parse_privacy_compilesEachPolicyAndGivesTenantsTheirs() {
    EdgeConfig config = EdgeConfigLoader.parse("""
        auth:
          tenants:
            - {name: acme, keys: [sk-acme-12345678], privacy_policy: strict, tokens_per_day: 5000, tokens_per_month: 90000}
            - {name: beta, keys: [sk-beta-12345678]}
        privacy:
          default_policy: pii
          policies:
            - name: pii
              mask: [EMAIL, PHONE]
              output: pass
            - name: strict
              mask: [EMAIL]
              block: [CREDIT_CARD]
              local_only: [US_SSN]
              words: [{kind: CODENAME, values: [zephyr, blue heron], action: local_only}]
              regexes: [{kind: TICKET, pattern: 'TKT-[0-9]{6}'}]
        """, BASE);

    assertThat(config.auth().tenants().get(0).tokensPerDay()).isEqualTo(5000);
    assertThat(config.auth().tenants().get(0).tokensPerMonth()).isEqualTo(90000);
    assertThat(config.auth().quotas()).isTrue();
    assertThat(config.auth().jwt()).isEmpty();
    assertThat(config.audit()).isEqualTo(Audit.NONE);
    assertThat(EdgeConfigLoader.parse("audit: {directory: log, fsync: every_record}", BASE).audit())
        .isEqualTo(new Audit(Optional.of(BASE.resolve("log")), Audit.NONE.maxFileBytes(),
            Audit.NONE.maxFileAge(), AuditFsync.EVERY_RECORD, Audit.NONE.fsyncInterval()));
    Privacy privacy = config.privacy();
    assertThat(privacy.defaultPolicy()).isEqualTo("pii");
    Privacy.Policy strict = privacy.policies().get(1);
    assertThat(strict.actions()).containsEntry("CODENAME", PrivacyAction.LOCAL_ONLY)
        .containsEntry("TICKET", PrivacyAction.MASK).containsEntry("CREDIT_CARD", PrivacyAction.BLOCK);
    assertThat(strict.words()).containsEntry("CODENAME", List.of("zephyr", "blue heron"));
    PrivacyPolicies policies = config.privacyPolicies();
    assertThat(policies.forTenant("acme").policy().name()).isEqualTo("strict");
    assertThat(policies.forTenant("beta").policy().name()).isEqualTo("pii");
    assertThat(policies.forTenant("beta").policy().redactsOutput()).isFalse();
    assertThat(policies.forTenant("acme").policy().redactsOutput()).isTrue();
    assertThat(privacy.policies().get(0).redactOutput()).isFalse();
    Masked masked = policies.forTenant("acme").mask(List.of("ask a@b.io about TKT-123456 and Blue Heron"));
    assertThat(masked.texts()).containsExactly("ask <EMAIL_1> about <TICKET_1> and Blue Heron");
    assertThat(masked.localOnlyKinds()).containsExactly("CODENAME");
  }

  @Test
  void parse_authJwt_readsEveryKeyAndResolvesTheFile() {
    JwtAuth jwt = EdgeConfigLoader.parse("""
        auth:
          jwt:
            jwks_file: keys/jwks.json
            issuer: https://idp.example
            audience: infermesh-edge
            clock_skew: 10s
            refresh: 1m
            tenant_claim: org
            priority_claim: tier
            privacy_claim: pii
        """, BASE).auth().jwt().orElseThrow();

    assertThat(jwt).isEqualTo(JwtAuth.builder("https://idp.example", "infermesh-edge")
        .jwksFile(BASE.resolve("keys/jwks.json")).clockSkew(Duration.ofSeconds(10)).refresh(Duration.ofMinutes(1))
        .claims("org", "tier", "pii").build());
  }

  @Test
  void load_badValue_prefixesTheFileName(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("edge.yaml"), "cache: {ttl: -1s}\n");

    assertThatThrownBy(() -> EdgeConfigLoader.load(file))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(file + ": cache.ttl: must be a duration")
        .extracting(e -> ((ConfigException) e).key()).isEqualTo("cache.ttl");
  }

  @Test
  void load_missingFile_saysSo(@TempDir Path dir) {
    assertThatThrownBy(() -> EdgeConfigLoader.load(dir.resolve("nope.yaml")))
        .hasMessageContaining("nope.yaml")
        .hasMessageContaining("config file not found");
  }

  @Test
  void withFlags_overrideTheFileValues() {
    EdgeConfig config = EdgeConfig.defaults()
        .withModelPath(Path.of("/m/tiny.gguf"))
        .withHttpPort(1234)
        .withGrpcPort(4321);

    assertThat(config.model().path()).isEqualTo(Path.of("/m/tiny.gguf"));
    assertThat(config.model().effectiveName()).isEqualTo("tiny");
    assertThat(config.http().port()).isEqualTo(1234);
    assertThat(config.grpc().port()).isEqualTo(4321);
    assertThatThrownBy(() -> config.withHttpPort(-1)).hasMessageStartingWith("http.port:");
  }

  @Test
  void effectiveSelectors_auto_isOnePerTwoCoresFromTwoToFour() {
    EdgeConfig.Http http = EdgeConfig.Http.DEFAULT;

    assertThat(http.selectors()).isZero();
    assertThat(http.effectiveSelectors(1)).isEqualTo(2);
    assertThat(http.effectiveSelectors(2)).isEqualTo(2);
    assertThat(http.effectiveSelectors(6)).isEqualTo(3);
    assertThat(http.effectiveSelectors(64)).isEqualTo(4);
  }

  @Test
  void effectiveThreads_auto_isOnePerTwoCores() {
    EdgeConfig.Model model = EdgeConfig.Model.DEFAULT;

    assertThat(model.effectiveThreads(2)).isEqualTo(1);
    assertThat(model.effectiveThreads(1)).isEqualTo(1);
    assertThat(model.effectiveThreads(16)).isEqualTo(8);
  }

  @Test
  void parse_escalationShadow_readsEveryKeyAndDefaults() {
    Escalation full = EdgeConfigLoader.parse(
        "escalation: {target: 'xds:///core-inference', shadow: {version: v2, fraction: 0.25, max_in_flight: 8}}",
        BASE).escalation();
    assertThat(full.shadow()).contains(new Shadow("v2", 0.25, 8));
    Escalation defaults = EdgeConfigLoader.parse("escalation: {target: 'core:9443', shadow: {version: v3}}", BASE)
        .escalation();
    assertThat(defaults.shadow()).contains(new Shadow("v3", 0.01, Shadow.DEFAULT_MAX_IN_FLIGHT));
    assertThat(EdgeConfig.defaults().escalation().shadow()).isEmpty();
  }

  @Test
  void parse_badEscalationShadow_isRefusedNamingTheKey() {
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {target: 'core:9443', shadow: {version: v2, "
        + "fraction: 1.5}}", BASE)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("escalation.shadow.fraction: must be in (0, 1], was 1.5");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {target: 'core:9443', shadow: {fraction: 0.5}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.shadow.version");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {shadow: {version: v2}}", BASE))
        .isInstanceOf(ConfigException.class).hasMessageContaining("escalation.shadow: mirrors escalations, so it needs "
            + "escalation.target");
    assertThatThrownBy(() -> EdgeConfigLoader.parse("escalation: {target: 'core:9443', shadow: {version: v2, "
        + "sample: 0.5}}", BASE)).isInstanceOf(ConfigException.class).hasMessageContaining("escalation.shadow.sample");
  }
}
