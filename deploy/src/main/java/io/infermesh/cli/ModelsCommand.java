package io.infermesh.cli;

import io.infermesh.models.ModelDigests;
import io.infermesh.models.ModelMetadata;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.gguf.GgufTensorInfo;
import io.infermesh.models.gguf.GgufValue;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tiny.VocabularyKind;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code infermesh models}: writes the deterministic tiny test models and describes GGUF files.
 */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Write the tiny test models and inspect GGUF files.",
      "",
      "The tiny models are Llama-architecture GGUF files with a real tokenizer learned",
      "from an English text and random weights: llama.cpp and the core engine load them",
      "and generate (gibberish), so every path of the mesh runs without downloads.",
      "The same command writes the same bytes on every machine.",
      ""
    },
    subcommands = {ModelsCommand.Tiny.class, ModelsCommand.Inspect.class},
    footer = {
      "",
      "Example:",
      "  infermesh models tiny --out mesh/models",
      "  infermesh models tiny --out mesh/models --which half-billion --type q4_0",
      "  infermesh models inspect models/tiny-edge-q8_0.gguf"
    })
final class ModelsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The tiny model shapes, by the name {@code --which} takes. */
  enum Which {
    EDGE("edge", TinyModelSpec::edge),
    CORE("core", TinyModelSpec::core),
    SPM("spm", TinyModelSpec::spm),
    HALF_BILLION("half-billion", TinyModelSpec::halfBillionShape);

    final String label;
    final Function<GgmlType, TinyModelSpec> shape;

    Which(String label, Function<GgmlType, TinyModelSpec> shape) {
      this.label = label;
      this.shape = shape;
    }

    static Which parse(String value) {
      for (Which w : values()) {
        if (w.label.equalsIgnoreCase(value)) {
          return w;
        }
      }
      throw new CommandLine.TypeConversionException(
          "'" + value + "' is not a tiny model; choose from " + labels());
    }

    static String labels() {
      return Arrays.stream(values()).map(w -> w.label).collect(Collectors.joining(", "));
    }
  }

  /** {@code --which}: case-insensitive, with the choices in the error. */
  static final class WhichConverter implements CommandLine.ITypeConverter<Which> {
    @Override
    public Which convert(String value) {
      return Which.parse(value);
    }
  }

  /** {@code --type}: a weight type tiny models can be written in. */
  static final class TypeConverter implements CommandLine.ITypeConverter<GgmlType> {
    @Override
    public GgmlType convert(String value) {
      for (GgmlType t : TinyModelSpec.WEIGHT_TYPES) {
        if (t.lowerCaseName().equalsIgnoreCase(value)) {
          return t;
        }
      }
      throw new CommandLine.TypeConversionException("'" + value + "' is not a weight type; choose from " + typeNames());
    }

    static String typeNames() {
      return new TypeNames().stream().collect(Collectors.joining(", "));
    }
  }

  /** The {@code --which} names, for help and completion. */
  static final class WhichNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Arrays.stream(Which.values()).map(w -> w.label).iterator();
    }
  }

  /** The {@code --type} names, for help and completion. */
  static final class TypeNames implements Iterable<String> {
    Stream<String> stream() {
      return Stream.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0).map(GgmlType::lowerCaseName);
    }

    @Override
    public Iterator<String> iterator() {
      return stream().iterator();
    }
  }

  /** {@code infermesh models tiny}. */
  @Command(
      name = "tiny",
      mixinStandardHelpOptions = true,
      versionProvider = VersionProvider.class,
      description = {
        "Write the deterministic tiny models into a directory.",
        "",
        "Without --which and --type: edge and core in f32 and q8_0, plus spm in f32.",
        "Otherwise every --which in every --type (defaults: edge and core; f32 and q8_0).",
        "A file that already holds the same model is kept. Prints each file with its",
        "size and sha256. half-billion (Qwen2.5-0.5B's shape, ~350 MB at q4_0) is for",
        "benchmarks and takes a few seconds.",
        ""
      })
  static final class Tiny implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write into (created if missing).")
    Path out;

    @Option(names = "--type", split = ",", paramLabel = "TYPE", converter = TypeConverter.class,
        completionCandidates = TypeNames.class, description = "Weight type: ${COMPLETION-CANDIDATES}. Repeatable.")
    List<GgmlType> types = new ArrayList<>();

    @Option(names = "--which", split = ",", paramLabel = "MODEL", converter = WhichConverter.class,
        completionCandidates = WhichNames.class, description = "Model: ${COMPLETION-CANDIDATES}. Repeatable.")
    List<Which> which = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
      PrintWriter o = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      for (TinyModelSpec s : specs()) {
        Progress progress = s.vocabulary() == VocabularyKind.BPE_LARGE ? new Progress(err, s.fileName()) : null;
        Path written = TinyModels.write(s, out, progress == null ? f -> {} : progress::update);
        if (progress != null) {
          progress.done();
        }
        o.printf("%s  %s  sha256 %s%n", written, humanSize(Files.size(written)), sha256(written));
        o.flush();
      }
      return 0;
    }

    /** The specs to write, in a stable order without duplicates. */
    Set<TinyModelSpec> specs() {
      Set<TinyModelSpec> specs = new LinkedHashSet<>();
      if (which.isEmpty() && types.isEmpty()) {
        for (Which w : List.of(Which.EDGE, Which.CORE)) {
          for (GgmlType t : List.of(GgmlType.F32, GgmlType.Q8_0)) {
            specs.add(w.shape.apply(t));
          }
        }
        specs.add(Which.SPM.shape.apply(GgmlType.F32));
        return specs;
      }
      List<Which> models = which.isEmpty() ? List.of(Which.EDGE, Which.CORE) : which;
      List<GgmlType> weightTypes = types.isEmpty() ? List.of(GgmlType.F32, GgmlType.Q8_0) : types;
      for (Which w : models) {
        for (GgmlType t : weightTypes) {
          specs.add(w.shape.apply(t));
        }
      }
      return specs;
    }
  }

  /** One progress line on stderr, rewritten in place, for models that take a while. */
  private static final class Progress {
    private final PrintWriter err;
    private final String name;
    private int shown = -1;

    Progress(PrintWriter err, String name) {
      this.err = err;
      this.name = name;
    }

    void update(double fraction) {
      int percent = (int) Math.floor(fraction * 100);
      if (percent / 5 != shown / 5 || shown < 0) {
        shown = percent;
        err.printf("\rwriting %s: %3d%%", name, percent);
        err.flush();
      }
    }

    void done() {
      err.print("\r" + " ".repeat(name.length() + 20) + "\r");
      err.flush();
    }
  }

  /** {@code infermesh models inspect}. */
  @Command(
      name = "inspect",
      mixinStandardHelpOptions = true,
      versionProvider = VersionProvider.class,
      description = {
        "Describe a GGUF file: format, model hyperparameters, tokenizer, every metadata",
        "key (long arrays abbreviated) and the tensor table.",
        ""
      })
  static final class Inspect implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "A .gguf file.")
    Path file;

    @Override
    public Integer call() throws IOException {
      if (!Files.exists(file)) {
        throw new NoSuchFileException(file.toString(), null, "no such file");
      }
      PrintWriter o = spec.commandLine().getOut();
      try (GgufFile gguf = GgufFile.open(file)) {
        o.printf("file       %s (%s, GGUF v%d, %d keys, %d tensors, alignment %d)%n",
            file, humanSize(gguf.fileSize()), gguf.version(), gguf.metadata().size(), gguf.tensors().size(), gguf.alignment());
        o.println("model      " + describeModel(gguf));
        o.println("tokenizer  " + describeTokenizer(gguf));
        o.println();
        o.println("metadata");
        int width = gguf.metadata().keys().stream().mapToInt(String::length).max().orElse(0);
        for (Map.Entry<String, GgufValue> e : gguf.metadata().asMap().entrySet()) {
          o.printf("  %-" + width + "s  %-16s %s%n", e.getKey(), e.getValue().describeType(), e.getValue());
        }
        o.println();
        o.println("tensors");
        int nameWidth = gguf.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4);
        o.printf("  %-" + nameWidth + "s  %-6s %-18s %12s %12s%n", "name", "type", "dims (ne0 first)", "elements", "bytes");
        long total = 0;
        for (GgufTensorInfo t : gguf.tensors()) {
          o.printf("  %-" + nameWidth + "s  %-6s %-18s %12d %12d%n",
              t.name(), t.type(), Arrays.toString(t.dims()), t.elementCount(), t.byteSize());
          total += t.byteSize();
        }
        o.printf("  %d tensors, %s of data%n", gguf.tensors().size(), humanSize(total));
      }
      o.flush();
      return 0;
    }

    private static String describeModel(GgufFile gguf) {
      try {
        ModelMetadata m = ModelMetadata.from(gguf.metadata());
        return String.format(Locale.ROOT,
            "%s \"%s\": context %d, width %d, %d blocks, %d heads (%d kv, size %d), ffn %d, vocab %d, rope base %s, rms eps %s%s",
            m.architecture(), m.name(), m.contextLength(), m.embeddingLength(), m.blockCount(), m.headCount(),
            m.headCountKv(), m.headSize(), m.feedForwardLength(), m.vocabularySize(), m.ropeFreqBase(), m.rmsNormEpsilon(),
            m.chatTemplate().isPresent() ? ", chat template" : "");
      } catch (IllegalArgumentException e) {
        return "(not readable as a decoder model: " + e.getMessage() + ")";
      }
    }

    private static String describeTokenizer(GgufFile gguf) {
      if (!gguf.metadata().contains("tokenizer.ggml.model")) {
        return "(none)";
      }
      try {
        Tokenizer t = Tokenizer.fromGguf(gguf.metadata());
        StringBuilder sb = new StringBuilder(t.toString());
        t.specialTokens().bos().ifPresent(id -> sb.append(", bos ").append(id).append(" ").append(t.tokenText(id)));
        t.specialTokens().eos().ifPresent(id -> sb.append(", eos ").append(id).append(" ").append(t.tokenText(id)));
        sb.append(", end of generation ").append(t.endOfGenerationTokens());
        return sb.toString();
      } catch (IllegalArgumentException e) {
        return "(not supported: " + e.getMessage() + ")";
      }
    }
  }

  static String humanSize(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  static String sha256(Path file) throws IOException {
    return ModelDigests.sha256(file);
  }
}
