package io.infermesh.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDigestsTest {
  @TempDir Path dir;

  @Test
  void sha256_knownContent_isTheStandardDigest() throws IOException {
    Path file = Files.writeString(dir.resolve("abc"), "abc", StandardCharsets.US_ASCII);

    assertThat(ModelDigests.sha256(file))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void sha256_missingFile_throwsNamingIt() {
    Path missing = dir.resolve("missing.gguf");

    assertThatThrownBy(() -> ModelDigests.sha256(missing)).isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("missing.gguf");
  }
}
