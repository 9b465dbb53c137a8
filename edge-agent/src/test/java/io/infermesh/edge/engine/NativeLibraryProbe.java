package io.infermesh.edge.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.EdgeConfigLoader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;

/**
 * A child JVM that loads llama.cpp through the binding, so one run can compare two native libraries
 * (the bundled {@code libjllama.so} and one given with {@code -Dde.kherud.llama.lib.path}): a JVM
 * loads the binding's library once. Every line meant for the parent starts with {@value #PREFIX};
 * the first says which {@code libjllama.so} this process mapped ({@code /proc/self/maps}).
 *
 * <p>Modes ({@code args[0]}):
 * <ul>
 *   <li>{@code greedy MODEL TOKENS PROMPT}: one greedy completion of the raw prompt through the binding,
 *       printed as a JSON string, then exit;
 *   <li>{@code binding MODEL THREADS}: the binding alone (no infermesh code), loaded on a thread that
 *       exits; each stdin line {@code rate TOKENS PROMPT} answers the decode rate of one greedy
 *       generation after a warm-up one (the prompt is then cached);
 *   <li>{@code edge MODEL THREADS}: a real edge agent on port 0 ({@code cache} off, one slot);
 *       prints its HTTP port;
 *   <li>{@code edge-yaml FILE}: a real edge agent configured by {@code FILE} through the YAML loader;
 *       prints its HTTP port, or {@code failed MESSAGE} when the model does not load.
 * </ul>
 * The last two run until stdin closes. Test scope only.
 */
public final class NativeLibraryProbe {
  /** What starts every line meant for the parent. */
  public static final String PREFIX = "probe: ";
  private static final ObjectMapper JSON = new ObjectMapper();

  private NativeLibraryProbe() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Path model = Path.of(args[1]);
    switch (mode) {
      case "greedy" -> {
        try (LlamaModel m = load(model, 1)) {
          say("library " + loadedLibrary());
          say("text " + JSON.writeValueAsString(greedy(m, args[3], Integer.parseInt(args[2]))));
        }
      }
      case "binding" -> {
        LlamaModel m = load(model, Integer.parseInt(args[2]));
        say("library " + loadedLibrary());
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          String[] f = line.split(" ", 3);
          InferenceParameters p = new InferenceParameters(f[2]).setNPredict(Integer.parseInt(f[1]))
              .setTemperature(0f).setTopK(1).setCachePrompt(true);
          decodeRate(m, p); // warm-up: fills the prompt cache
          say("rate " + decodeRate(m, p));
        }
      }
      case "edge" -> {
        int threads = Integer.parseInt(args[2]);
        EdgeConfig.Model m = EdgeConfig.Model.builder().path(model).name("bench").contextSize(1024).threads(threads)
            .parallel(1).defaultMaxTokens(16).build();
        serve(TinyModel.config().withModel(m).withCache(new EdgeConfig.Cache(false, 0, Duration.ofMinutes(1))));
      }
      case "edge-yaml" -> serve(EdgeConfigLoader.load(model));
      default -> throw new IllegalArgumentException("unknown mode " + mode);
    }
    System.exit(0); // llama.cpp leaves a native thread running after close
  }

  private static void serve(EdgeConfig config) throws Exception {
    try (EdgeAgent agent = EdgeAgent.builder(config).start()) {
      try {
        agent.awaitModel(Duration.ofMinutes(5));
      } catch (IOException e) {
        say("failed " + e.getMessage());
        return;
      }
      say("library " + loadedLibrary());
      say("port " + agent.httpPort());
      System.in.readAllBytes(); // until the parent closes stdin
    }
  }

  /** {@code tokens} greedy tokens after the raw {@code prompt}. */
  static String greedy(LlamaModel model, String prompt, int tokens) {
    return model.complete(new InferenceParameters(prompt).setNPredict(tokens).setTemperature(0f).setTopK(1).setSeed(1));
  }

  /** The binding over {@code model} with a 1,024-token context, loaded on a thread that exits. */
  static LlamaModel load(Path model, int threads) throws ModelLoadException {
    NativeLibraryDirectory.claim();
    ModelParameters params = new ModelParameters().setModel(model.toString()).setCtxSize(1024).setThreads(threads)
        .setThreadsBatch(threads).disableLog();
    return NativeModelLoader.load(params, "probe");
  }

  /**
   * Tokens after the first over the time from the first to the last of one generation (the closing
   * output carries none), tok/s.
   */
  public static double decodeRate(LlamaModel model, InferenceParameters p) {
    Iterator<?> it = model.generate(p).iterator();
    long first = 0;
    long last = 0;
    int tokens = 0;
    while (it.hasNext()) {
      it.next();
      if (!it.hasNext()) {
        break;
      }
      long now = System.nanoTime();
      if (tokens == 0) {
        first = now;
      }
      last = now;
      tokens++;
    }
    return (tokens - 1) / ((last - first) / 1e9);
  }

  /** The {@code libjllama.so} this process mapped, or "unknown". */
  static String loadedLibrary() {
    Optional<Path> loaded = NativeLibraryDirectory.loaded();
    return loaded.map(Path::toString).orElse("unknown");
  }

  private static void say(String line) {
    System.out.println(PREFIX + line);
    System.out.flush();
  }
}
