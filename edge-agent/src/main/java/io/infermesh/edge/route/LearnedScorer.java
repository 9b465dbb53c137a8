package io.infermesh.edge.route;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A difficulty score learned from examples, as RouteLLM and Hybrid-LLM do: the prompt is embedded
 * (by the edge model in embedding mode) and a {@link LogisticRegression} trained on labelled
 * prompts gives the probability that it needs the core. Thread-safe when the embedder is.
 */
public final class LearnedScorer implements DifficultyScorer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Embedder embedder;
  private final LogisticRegression classifier;

  private LearnedScorer(Embedder embedder, LogisticRegression classifier) {
    this.embedder = embedder;
    this.classifier = classifier;
  }

  /** A scorer over an already trained classifier. */
  public static LearnedScorer of(Embedder embedder, LogisticRegression classifier) {
    return new LearnedScorer(requireNonNull(embedder, "embedder"), requireNonNull(classifier, "classifier"));
  }

  /** Trains on labelled examples: embeds each prompt and fits the classifier. */
  public static LearnedScorer train(Embedder embedder, List<Example> examples) {
    requireNonNull(embedder, "embedder");
    List<float[]> x = new ArrayList<>(examples.size());
    List<Boolean> y = new ArrayList<>(examples.size());
    for (Example e : examples) {
      x.add(embedder.embed(e.prompt()));
      y.add(e.needsCore());
    }
    return new LearnedScorer(embedder, LogisticRegression.train(x, y, 300, 0.5, 1e-3));
  }

  /**
   * Reads a JSONL file with one {@code {"prompt": "...", "needs_core": true|false}} per line
   * (blank lines skipped).
   *
   * @throws IOException when the file cannot be read or a line is malformed (the message names the line)
   */
  public static List<Example> readExamples(Path jsonl) throws IOException {
    List<Example> out = new ArrayList<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(jsonl)) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IOException(jsonl + ":" + lineNo + ": not JSON: " + e.getOriginalMessage(), e);
      }
      JsonNode prompt = node.get("prompt");
      JsonNode label = node.get("needs_core");
      if (prompt == null || !prompt.isTextual() || label == null || !label.isBoolean()) {
        throw new IOException(jsonl + ":" + lineNo + ": needs a string 'prompt' and a boolean 'needs_core'");
      }
      out.add(new Example(prompt.asText(), label.asBoolean()));
    }
    return out;
  }

  @Override
  public double score(RouteRequest request) {
    return classifier.probability(embedder.embed(request.text()));
  }

  @Override
  public String toString() {
    return "LearnedScorer{dims=" + classifier.dimensions() + "}";
  }

  /** One labelled prompt. */
  public record Example(String prompt, boolean needsCore) {
    public Example {
      requireNonNull(prompt, "prompt");
    }
  }
}
