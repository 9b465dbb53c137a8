package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDigestTest {
  // sha256("abc")
  private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

  @Test
  void verify_matchingDigest_returnsIt(@TempDir Path dir) throws Exception {
    Path file = Files.write(dir.resolve("m.gguf"), "abc".getBytes(StandardCharsets.US_ASCII));

    assertThat(ModelDigest.verify(file, Optional.of(ABC.toUpperCase()))).isEqualTo(ABC);
    assertThat(ModelDigest.verify(file, Optional.empty())).isEqualTo(ABC);
  }

  @Test
  void verify_otherDigest_failsNamingTheKeyAndBothDigests(@TempDir Path dir) throws Exception {
    Path file = Files.write(dir.resolve("m.gguf"), "abd".getBytes(StandardCharsets.US_ASCII));

    assertThatThrownBy(() -> ModelDigest.verify(file, Optional.of(ABC)))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith("model.sha256: ")
        .hasMessageContaining(ABC)
        .hasMessageContaining("m.gguf");
  }
}
