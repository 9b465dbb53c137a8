package io.infermesh.node.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The one reader's typed getters, record construction and error style. */
class ConfigSectionTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ConfigSection root(String json) throws Exception {
    return ConfigSection.root(JSON.readTree(json), "deploy/x.yaml");
  }

  @Test
  void number_wholeOrNot_isRead() throws Exception {
    ConfigSection burst = root("{\"burst\": {\"high\": 0.8, \"share\": 1}}").section("burst");

    assertThat(burst.number("high", 0)).isEqualTo(0.8);
    assertThat(burst.number("share", 0)).isEqualTo(1.0);
    assertThat(burst.number("low", 0.25)).as("missing: the default").isEqualTo(0.25);
  }

  @Test
  void number_writtenAsText_isRefusedNamingTheKey() throws Exception {
    ConfigSection burst = root("{\"burst\": {\"high\": \"lots\"}}").section("burst");

    assertThatThrownBy(() -> burst.number("high", 0)).isInstanceOf(ConfigException.class)
        .hasMessage("burst.high: must be a number, got 'lots'");
  }

  @Test
  void build_recordCheckNamingAKeyInTheSection_isReportedAtThatKey() throws Exception {
    ConfigSection burst = root("{\"burst\": {}}").section("burst");

    assertThatThrownBy(() -> burst.build(() -> {
      throw new IllegalArgumentException("burst.low_watermark must be in [0, high_watermark), was 0.9");
    })).isInstanceOf(ConfigException.class)
        .hasMessage("burst.low_watermark: must be in [0, high_watermark), was 0.9")
        .extracting(e -> ((ConfigException) e).key()).isEqualTo("burst.low_watermark");
  }

  @Test
  void build_recordCheckWithoutAKey_isReportedAtTheSection() throws Exception {
    ConfigSection region = root("{\"regions\": [{\"name\": \"EU\"}]}").sections("regions").get(0);

    assertThatThrownBy(() -> region.build(() -> {
      throw new IllegalArgumentException("region name must be a DNS label, was 'EU'");
    })).hasMessage("regions[0]: region name must be a DNS label, was 'EU'");
  }

  @Test
  void build_rootRecordCheckNamingARootKey_isReportedAtThatKey() throws Exception {
    ConfigSection root = root("{\"trust_domain\": \"x y\"}");
    root.string("trust_domain", "");

    assertThatThrownBy(() -> root.build(() -> {
      throw new IllegalArgumentException("trust_domain must be a DNS name, was 'x y'");
    })).hasMessage("trust_domain: must be a DNS name, was 'x y'");
  }

  @Test
  void build_configException_passesUnchanged() throws Exception {
    ConfigException thrown = new ConfigException("http.port", "must be a port");

    assertThatThrownBy(() -> root("{}").section("http").build(() -> {
      throw thrown;
    })).isSameAs(thrown);
  }

  @Test
  void inFile_prefixesTheFileAndKeepsKeyAndReason() {
    ConfigException e = new ConfigException("burst.high_watermrk", "unknown key").inFile("/etc/infermesh/mesh.yaml");

    assertThat(e).hasMessage("/etc/infermesh/mesh.yaml: burst.high_watermrk: unknown key");
    assertThat(e.key()).isEqualTo("burst.high_watermrk");
    assertThat(e.reason()).isEqualTo("unknown key");
  }

  @Test
  void finish_unreadKey_isUnknownNamingItsFullPath() throws Exception {
    ConfigSection burst = root("{\"burst\": {\"high_watermrk\": 0.9}}").section("burst");

    assertThatThrownBy(burst::finish).hasMessageStartingWith("burst.high_watermrk: unknown key");
  }
}
