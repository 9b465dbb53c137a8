package io.infermesh.core.lifecycle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.core.status.ClientText;
import io.infermesh.core.status.CoreException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The weight files of a model and their check against the digests an operator expects: the GGUF
 * file itself, or every {@code *.safetensors} file a checkpoint directory's
 * {@code model.safetensors.index.json} maps tensors to (or its single {@code model.safetensors}).
 * Every weight file must have an expected digest and every expected digest must name a weight
 * file, so nothing is loaded that the operator did not pin. Stateless; thread-safe.
 */
public final class WeightFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  private WeightFiles() {}

  /**
   * The weight files of {@code model} by name (the GGUF file's name, or the path relative to the
   * directory), in name order.
   *
   * @throws CoreException NOT_FOUND when {@code model} does not exist, FAILED_PRECONDITION when it
   *     is not a model
   */
  public static Map<String, Path> names(Path model) {
    if (Files.isRegularFile(model)) {
      return Map.of(model.getFileName().toString(), model);
    }
    if (!Files.isDirectory(model)) {
      throw CoreException.of(CoreException.Kind.NOT_FOUND, model + ": no such model file or directory");
    }
    Path index = model.resolve("model.safetensors.index.json");
    TreeSet<String> files = new TreeSet<>();
    if (Files.isRegularFile(index)) {
      try {
        for (Iterator<JsonNode> it = JSON.readTree(index.toFile()).path("weight_map").elements(); it.hasNext(); ) {
          String f = it.next().asText();
          if (f.isEmpty() || f.contains("/") || f.contains("\\")) {
            throw precondition(index + ": weight_map names a file outside the directory: " + f);
          }
          files.add(f);
        }
      } catch (IOException e) {
        throw precondition(index + ": not valid JSON: " + e.getMessage());
      }
    } else if (Files.isRegularFile(model.resolve("model.safetensors"))) {
      files.add("model.safetensors");
    }
    if (files.isEmpty()) {
      throw precondition(model + ": no model.safetensors or model.safetensors.index.json with weights");
    }
    Map<String, Path> out = new LinkedHashMap<>();
    files.forEach(f -> out.put(f, model.resolve(f)));
    return out;
  }

  /**
   * Hashes every weight file of {@code model} and compares it with {@code expected}.
   *
   * @return the actual digest per weight file, in name order
   * @throws CoreException INVALID_ARGUMENT naming {@code sha256[<file>]} when a weight file has no
   *     entry or an entry names no weight file; FAILED_PRECONDITION naming the file and both digests
   *     on a mismatch
   */
  public static Map<String, String> verify(Path model, Map<String, String> expected) {
    Map<String, Path> files = names(model);
    for (String name : expected.keySet()) {
      if (!files.containsKey(name)) {
        throw CoreException.invalidArgument("sha256[" + ClientText.bounded(name) + "]",
            "names no weight file of " + model + " (its weight files: " + String.join(", ", files.keySet()) + ")");
      }
    }
    List<String> missing = new ArrayList<>();
    for (String name : files.keySet()) {
      if (!expected.containsKey(name)) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty()) {
      throw CoreException.invalidArgument("sha256[" + missing.get(0) + "]", "missing: every weight file needs its"
          + " expected digest (" + missing.size() + " without one: " + String.join(", ", missing) + ")");
    }
    Map<String, String> actual = new LinkedHashMap<>();
    for (Map.Entry<String, Path> f : files.entrySet()) {
      String digest;
      try {
        digest = ModelFiles.sha256(f.getValue());
      } catch (IOException e) {
        throw precondition(f.getValue() + ": cannot be read: " + e.getMessage());
      }
      String want = expected.get(f.getKey());
      if (!want.equalsIgnoreCase(digest)) {
        throw precondition(f.getValue() + ": sha256 is " + digest + " but " + ClientText.bounded(want)
            + " was expected (corrupt or wrong file?); nothing was loaded");
      }
      actual.put(f.getKey(), digest);
    }
    return actual;
  }

  /** The digest of every weight file of {@code model}, unchecked (for a model loaded from configuration). */
  public static Map<String, String> digests(Path model) {
    Map<String, String> actual = new LinkedHashMap<>();
    for (Map.Entry<String, Path> f : names(model).entrySet()) {
      try {
        actual.put(f.getKey(), ModelFiles.sha256(f.getValue()));
      } catch (IOException e) {
        throw precondition(f.getValue() + ": cannot be read: " + e.getMessage());
      }
    }
    return actual;
  }

  private static CoreException precondition(String message) {
    return CoreException.of(CoreException.Kind.FAILED_PRECONDITION, message);
  }
}
