package io.infermesh.node.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import io.infermesh.certs.CertificateAuthority;
import io.infermesh.certs.LeafRequest;
import io.infermesh.certs.MeshTls;
import io.infermesh.certs.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code infermesh_mtls} channel-creds config, without an xDS client (see ProxylessMtlsXdsClientTest). */
class MeshXdsCredentialsProviderTest {

  @Test
  void serviceLoader_findsTheProvider_asGrpcXdsLooksItUp() {
    // grpc-xds' XdsCredentialsRegistry (package-private) loads providers this way
    assertThat(ServiceLoader.load(XdsCredentialsProvider.class).stream().map(p -> p.type().getName()))
        .contains(MeshXdsCredentialsProvider.class.getName());
  }

  @Test
  void newChannelCredentials_meshFiles_mutualTls_sameFilesShareOneMeshTls(@TempDir Path dir) throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("mesh.local", Duration.ofDays(1), Clock.systemUTC());
    ca.writeTo(dir, false);
    ca.issue(LeafRequest.builder(Role.EDGE, "eu-west", "edge-1").validity(Duration.ofHours(1)).build())
        .writeTo(dir, false);
    Map<String, ?> config = Map.of("certificate_file", dir.resolve("edge-1.crt").toString(),
        "private_key_file", dir.resolve("edge-1.key").toString(), "ca_certificate_file", dir.resolve("ca.crt").toString(),
        "refresh_interval", "5s");
    MeshXdsCredentialsProvider provider = new MeshXdsCredentialsProvider();

    var creds = provider.newChannelCredentials(config);

    assertThat(creds).isInstanceOf(TlsChannelCredentials.class);
    assertThat(((TlsChannelCredentials) creds).getKeyManagers()).as("presents the mesh certificate").isNotEmpty();
    assertThat(((TlsChannelCredentials) creds).getTrustManagers()).as("trusts the mesh CA only").isNotEmpty();
    assertThat(provider.newChannelCredentials(config)).isNotNull();
  }

  @Test
  void newChannelCredentials_missingOrUnreadableFiles_null_soGrpcXdsFailsTheBootstrap(@TempDir Path dir) {
    MeshXdsCredentialsProvider provider = new MeshXdsCredentialsProvider();

    assertThat(provider.newChannelCredentials(Map.of())).isNull();
    assertThat(provider.newChannelCredentials(Map.of("certificate_file", dir.resolve("x.crt").toString(),
        "private_key_file", dir.resolve("x.key").toString(), "ca_certificate_file", dir.resolve("ca.crt").toString())))
        .isNull();
    assertThat(Files.exists(dir.resolve("x.crt"))).isFalse();
  }

  @Test
  void refreshInterval_protobufJsonDurations() {
    assertThat(MeshXdsCredentialsProvider.refreshInterval(null)).isEqualTo(MeshTls.DEFAULT_REFRESH_PERIOD);
    assertThat(MeshXdsCredentialsProvider.refreshInterval("60s")).isEqualTo(Duration.ofMinutes(1));
    assertThat(MeshXdsCredentialsProvider.refreshInterval("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThatThrownBy(() -> MeshXdsCredentialsProvider.refreshInterval("1m")).hasMessageContaining("refresh_interval");
    assertThatThrownBy(() -> MeshXdsCredentialsProvider.refreshInterval("0s")).hasMessageContaining("positive");
  }
}
