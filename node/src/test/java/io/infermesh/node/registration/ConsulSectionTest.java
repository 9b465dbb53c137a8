package io.infermesh.node.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConsulSectionTest {
  private static final ConsulSection.Invalid INVALID = (key, reason) -> new IllegalStateException(key + ": " + reason);

  @Test
  void address_blankOrTrailingSlash_isNormalized() {
    assertThat(ConsulSection.address(null, INVALID)).isEmpty();
    assertThat(ConsulSection.address(" http://10.0.0.1:8500/ ", INVALID)).isEqualTo("http://10.0.0.1:8500");
    assertThatThrownBy(() -> ConsulSection.address("10.0.0.1:8500", INVALID))
        .hasMessageStartingWith("consul.address: must be the agent's http(s)://host:port");
  }

  @Test
  void check_eachBrokenRule_namesItsKey() {
    Duration s10 = Duration.ofSeconds(10);
    Duration m1 = Duration.ofMinutes(1);
    ConsulSection.check("core-inference", "public", s10, m1, INVALID);

    assertThatThrownBy(() -> ConsulSection.check("bad name", "private", s10, m1, INVALID))
        .hasMessageStartingWith("consul.service_name:");
    assertThatThrownBy(() -> ConsulSection.check("svc", "cloud", s10, m1, INVALID))
        .hasMessageStartingWith("consul.tier:");
    assertThatThrownBy(() -> ConsulSection.check("svc", "private", Duration.ofMillis(500), m1, INVALID))
        .hasMessageStartingWith("consul.check_interval:");
    assertThatThrownBy(() -> ConsulSection.check("svc", "private", s10, Duration.ofSeconds(30), INVALID))
        .hasMessageStartingWith("consul.deregister_after:");
  }
}
