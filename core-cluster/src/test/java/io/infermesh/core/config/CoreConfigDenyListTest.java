package io.infermesh.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code tls.deny_list}: the revoked callers a core node refuses. */
class CoreConfigDenyListTest {
  @Test
  void parse_denyList_isResolvedAgainstTheConfigDirectory() throws Exception {
    CoreConfig.Tls tls = CoreYaml.parse("tls: {dir: certs, name: core-0, deny_list: revoked.txt}").tls();

    assertThat(tls.denyList()).isEqualTo(Optional.of(Path.of("/etc/infermesh/revoked.txt")));
  }

  @Test
  void parse_noDenyList_isEmpty() throws Exception {
    assertThat(CoreYaml.parse("tls: {name: core-0}").tls().denyList()).isEmpty();
  }
}
