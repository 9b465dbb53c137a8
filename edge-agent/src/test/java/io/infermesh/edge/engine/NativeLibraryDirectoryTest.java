package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NativeLibraryDirectoryTest {
  private String tmpdir;
  private String libPath;

  @BeforeEach
  void saveProperties() {
    tmpdir = System.getProperty(NativeLibraryDirectory.TMPDIR);
    libPath = System.getProperty(NativeLibraryDirectory.LIB_PATH);
    System.clearProperty(NativeLibraryDirectory.TMPDIR);
    System.clearProperty(NativeLibraryDirectory.LIB_PATH);
  }

  @AfterEach
  void restoreProperties() {
    restore(NativeLibraryDirectory.TMPDIR, tmpdir);
    restore(NativeLibraryDirectory.LIB_PATH, libPath);
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  @Test
  void claim_nothingConfigured_givesThisProcessAFreshPrivateDirectory() {
    NativeLibraryDirectory.claim();

    Path dir = Path.of(System.getProperty(NativeLibraryDirectory.TMPDIR));
    assertThat(dir).isDirectory();
    assertThat(dir.getFileName().toString()).startsWith("infermesh-llama-");
    assertThat(dir).isNotEqualTo(Path.of(System.getProperty("java.io.tmpdir")));
  }

  @Test
  void claim_userChoseADirectory_keepsIt() throws Exception {
    Path chosen = Files.createTempDirectory("chosen");
    System.setProperty(NativeLibraryDirectory.TMPDIR, chosen.toString());

    NativeLibraryDirectory.claim();

    assertThat(System.getProperty(NativeLibraryDirectory.TMPDIR)).isEqualTo(chosen.toString());
  }

  @Test
  void claim_userChoseALibrary_stillGivesThePrivateDirectory() {
    // the binding's loader cleans its temp directory first, and extracts there if the user's library fails
    System.setProperty(NativeLibraryDirectory.LIB_PATH, "/opt/llama.cpp/lib");

    NativeLibraryDirectory.claim();

    assertThat(Path.of(System.getProperty(NativeLibraryDirectory.TMPDIR)).getFileName().toString())
        .startsWith("infermesh-llama-");
    assertThat(System.getProperty(NativeLibraryDirectory.LIB_PATH)).isEqualTo("/opt/llama.cpp/lib");
  }
}
