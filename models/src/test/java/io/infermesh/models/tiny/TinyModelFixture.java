package io.infermesh.models.tiny;

import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufMetadata;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Tiny model files shared by the tests of this module: written once into {@code
 * target/tiny-models} (reused across runs while the generator is unchanged).
 */
public final class TinyModelFixture {
  public static final Path DIRECTORY = Path.of("target", "tiny-models");

  private TinyModelFixture() {}

  /** The model file of {@code spec}, written if missing. */
  public static synchronized Path path(TinyModelSpec spec) {
    try {
      return TinyModels.write(spec, DIRECTORY).toAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The metadata of {@code spec}'s model, read from its file. */
  public static GgufMetadata metadata(TinyModelSpec spec) {
    try (GgufFile f = GgufFile.open(path(spec))) {
      return f.metadata();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Our tokenizer for {@code spec}'s model, read from its file. */
  public static Tokenizer tokenizer(TinyModelSpec spec) {
    return Tokenizer.fromGguf(metadata(spec));
  }
}
