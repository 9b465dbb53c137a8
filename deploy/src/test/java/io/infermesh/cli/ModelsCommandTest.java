package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs {@code infermesh models} in-process in a temporary directory. */
class ModelsCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @Test
  void tiny_noSelection_writesTheDefaultSetWithSizesAndHashes() throws Exception {
    Path models = dir.resolve("models");

    int exit = run("tiny", "--out", models.toString());

    assertThat(exit).as(err.toString()).isZero();
    List<String> names = List.of("tiny-edge-f32.gguf", "tiny-edge-q8_0.gguf", "tiny-core-f32.gguf", "tiny-core-q8_0.gguf", "tiny-spm-f32.gguf");
    try (Stream<Path> files = Files.list(models)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrderElementsOf(names);
    }
    String edge = ModelsCommand.sha256(models.resolve("tiny-edge-f32.gguf"));
    assertThat(out.toString().lines())
        .hasSize(5)
        .anySatisfy(line -> assertThat(line)
            .startsWith(models.resolve("tiny-edge-f32.gguf").toString())
            .contains("KiB")
            .endsWith("sha256 " + edge));
  }

  @Test
  void tiny_whichAndType_writesTheirProduct() throws Exception {
    int exit = run("tiny", "--out", dir.toString(), "--which", "edge,SPM", "--type", "q4_0");

    assertThat(exit).as(err.toString()).isZero();
    assertThat(dir.resolve("tiny-edge-q4_0.gguf")).isRegularFile();
    assertThat(dir.resolve("tiny-spm-q4_0.gguf")).isRegularFile();
    assertThat(out.toString().lines()).hasSize(2);
  }

  @Test
  void tiny_sameModelTwice_printsTheSameHash() throws Exception {
    assertThat(run("tiny", "--out", dir.toString(), "--which", "edge", "--type", "f32")).isZero();
    String first = out.toString();
    out.getBuffer().setLength(0);
    assertThat(run("tiny", "--out", dir.toString(), "--which", "edge", "--type", "f32")).isZero();
    assertThat(out.toString()).isEqualTo(first);
  }

  @Test
  void tiny_unknownTypeOrModel_failsListingTheChoices() {
    assertThat(run("tiny", "--out", dir.toString(), "--type", "q6_k")).isEqualTo(2);
    assertThat(err.toString()).contains("'q6_k' is not a weight type; choose from f32, f16, q8_0, q4_0");
    assertThat(run("tiny", "--out", dir.toString(), "--which", "huge")).isEqualTo(2);
    assertThat(err.toString()).contains("'huge' is not a tiny model; choose from edge, core, spm, half-billion");
  }

  @Test
  void inspect_tinyModel_printsSummaryMetadataAndTensorTable() throws Exception {
    Path model = TinyModels.write(TinyModelSpec.core(GgmlType.Q8_0), dir);

    int exit = run("inspect", model.toString());

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains("GGUF v3")
        .contains("llama \"infermesh-tiny-core\": context 1024, width 128, 4 blocks, 8 heads (2 kv, size 16), ffn 384, vocab 512")
        .contains("Tokenizer[BPE pre=gpt-2, 512 tokens], bos 509 <|endoftext|>, eos 511 <|im_end|>")
        .containsPattern("tokenizer\\.ggml\\.tokens\\s+ARRAY of STRING\\s+\\[STRING x 512: ")
        .containsPattern("blk\\.3\\.ffn_down\\.weight\\s+Q8_0\\s+\\[384, 128\\]\\s+49152\\s+52224")
        .contains("39 tensors");
  }

  @Test
  void inspect_missingOrCorruptFile_failsWithOneLine() throws Exception {
    assertThat(run("inspect", dir.resolve("nope.gguf").toString())).isEqualTo(1);
    assertThat(err.toString()).contains("error: " + dir.resolve("nope.gguf") + ": no such file");

    Path junk = Files.writeString(dir.resolve("junk.gguf"), "hello");
    err.getBuffer().setLength(0);
    assertThat(run("inspect", junk.toString())).isEqualTo(1);
    assertThat(err.toString().strip()).startsWith("error: not a GGUF file: " + junk).doesNotContain("\n");
  }

  private int run(String... args) {
    CommandLine commandLine = new CommandLine(new ModelsCommand())
        .setExecutionExceptionHandler(new UserErrorHandler())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }
}
