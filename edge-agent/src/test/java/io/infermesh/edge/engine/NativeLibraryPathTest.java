package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import de.kherud.llama.LlamaModel;
import io.infermesh.edge.TinyModel;
import io.infermesh.node.config.ConfigException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code libjllama.so} of the user's ({@code -Dde.kherud.llama.lib.path} or {@code
 * engine.native_library}) is the one loaded, and a wrong one is named instead of silently replaced
 * by the bundled build. The library here is a copy of the bundled one (this JVM's, extracted): the
 * children that load it are {@link NativeLibraryProbe} JVMs, since a JVM loads the binding's
 * library once.
 */
class NativeLibraryPathTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PROMPT = "The keeper of the lighthouse";
  private static final int TOKENS = 12;

  @TempDir
  static Path temp;
  private static Path copy;

  @BeforeAll
  static void copyTheBundledLibrary() throws Exception {
    TinyModel.engine(); // this JVM loads the bundled library
    Path loaded = NativeLibraryDirectory.loaded()
        .orElseThrow(() -> new AssertionError("no libjllama.so in /proc/self/maps after the engine loaded"));
    copy = Files.createDirectories(temp.resolve("jllama-copy"));
    Files.copy(loaded, copy.resolve(loaded.getFileName()));
  }

  @Test
  void libPath_aCopiedLibrary_isTheOneLoaded_andGreedyTextIsUnchanged() throws Exception {
    String here;
    try (LlamaModel model = NativeLibraryProbe.load(TinyModel.path(), 1)) {
      here = NativeLibraryProbe.greedy(model, PROMPT, TOKENS);
    }

    try (ProbeProcess child = ProbeProcess.start("copied-lib-path", Optional.of(copy), "greedy",
        TinyModel.path().toString(), "" + TOKENS, PROMPT)) {
      assertThat(Path.of(child.expect("library"))).isEqualTo(copy.resolve("libjllama.so"));
      assertThat(JSON.readValue(child.expect("text"), String.class)).isEqualTo(here).isNotEmpty();
    }
  }

  @Test
  void engineNativeLibrary_aDirectoryWithTheLibrary_loadsItAndAnswers() throws Exception {
    try (ProbeProcess child = ProbeProcess.start("native-library-key", Optional.empty(), "edge-yaml",
        edgeYaml("right.yaml", copy).toString())) {
      assertThat(Path.of(child.expect("library"))).isEqualTo(copy.resolve("libjllama.so"));
      int port = Integer.parseInt(child.expect("port"));
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port + "/v1/completions"))
          .header("content-type", "application/json").timeout(Duration.ofMinutes(2))
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"tiny\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":8,\"temperature\":0}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode choice = JSON.readTree(r.body()).path("choices").path(0);
      assertThat(choice.path("text").asText()).isNotEmpty();
    }
  }

  @Test
  void engineNativeLibrary_aLibraryThatDoesNotLoad_failsNamingTheKey_insteadOfTheBundledFallback() throws Exception {
    Path broken = Files.createDirectories(temp.resolve("jllama-broken"));
    Files.writeString(broken.resolve("libjllama.so"), "not an ELF file");

    try (ProbeProcess child = ProbeProcess.start("native-library-broken", Optional.empty(), "edge-yaml",
        edgeYaml("broken.yaml", broken).toString())) {
      assertThat(child.expect("failed")).contains("engine.native_library", broken.resolve("libjllama.so").toString(),
          "fell back to");
    }
  }

  @Test
  void select_afterThisProcessLoadedAnotherLibrary_refusesNamingTheKey() {
    TinyModel.engine();

    assertThatThrownBy(() -> NativeLibraryDirectory.select(copy))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo("engine.native_library"))
        .hasMessageContaining("already loaded");
  }

  private static Path edgeYaml(String name, Path nativeLibrary) throws Exception {
    return Files.writeString(temp.resolve(name), """
        http: {port: 0, host: 127.0.0.1}
        cache: {enabled: false}
        model: {path: '%s', name: tiny, context_size: 256, threads: 1, parallel: 1}
        engine: {type: builtin, native_library: '%s'}
        """.formatted(TinyModel.path(), nativeLibrary));
  }
}
