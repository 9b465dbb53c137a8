package io.infermesh.node.admin;

import static java.util.Objects.requireNonNull;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A model swap as an operator asked for it ({@code LoadModelRequest}), checked in linear time
 * before anything touches the disk: the path (a relative one resolved against the node's model
 * directory), the expected SHA-256 of each weight file, the drain timeout and the version label.
 * Immutable.
 *
 * @param path absolute, normalized
 * @param sha256 lower-case hex digest per weight file name, in name order
 * @param drain how long the replaced version may finish its requests
 * @param version label; empty for one derived from the digest
 * @param requested the path as sent (a pipeline's stages resolve it again, each on its own)
 */
public record SwapOrder(Path path, Map<String, String> sha256, Duration drain, String version, String requested) {
  /** The drain timeout when the request says 0. */
  public static final Duration DEFAULT_DRAIN = Duration.ofSeconds(120);
  /** The longest drain timeout accepted. */
  public static final Duration MAX_DRAIN = Duration.ofHours(1);
  static final int MAX_PATH = 4096;
  static final int MAX_FILES = 1024;
  static final int MAX_FILE_NAME = 255;
  static final int MAX_VERSION = 64;
  private static final Pattern HEX64 = Pattern.compile("[0-9a-fA-F]{64}");
  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9._:+-]*");

  public SwapOrder {
    requireNonNull(path, "path");
    sha256 = Map.copyOf(requireNonNull(sha256, "sha256"));
    requireNonNull(drain, "drain");
    requireNonNull(version, "version");
    requireNonNull(requested, "requested");
  }

  /**
   * Checks the fields of a {@code LoadModelRequest}.
   *
   * @param modelDir where a relative {@code path} is resolved (the directory of the node's
   *     configured model), or null when the node has none
   * @throws IllegalArgumentException whose message starts with the field ({@code path: ...},
   *     {@code sha256[name]: ...}, {@code drain_timeout_ms: ...}, {@code version: ...})
   */
  public static SwapOrder of(String path, Map<String, String> sha256, long drainTimeoutMs, String version,
      Path modelDir) {
    return new SwapOrder(path(path, modelDir), digests(sha256), drain(drainTimeoutMs), version(version), path);
  }

  /** {@code drain_timeout_ms}: 0 for the default, up to {@link #MAX_DRAIN}. */
  public static Duration drain(long drainTimeoutMs) {
    if (drainTimeoutMs < 0 || drainTimeoutMs > MAX_DRAIN.toMillis()) {
      throw new IllegalArgumentException("drain_timeout_ms: must be 0 (for " + DEFAULT_DRAIN.toSeconds()
          + " s) to " + MAX_DRAIN.toMillis() + ", got " + drainTimeoutMs);
    }
    return drainTimeoutMs == 0 ? DEFAULT_DRAIN : Duration.ofMillis(drainTimeoutMs);
  }

  private static Path path(String path, Path modelDir) {
    if (path.isEmpty()) {
      throw new IllegalArgumentException("path: required (a GGUF file or a Hugging Face checkpoint directory)");
    }
    if (path.length() > MAX_PATH) {
      throw new IllegalArgumentException("path: longer than " + MAX_PATH + " characters");
    }
    Path p;
    try {
      p = Path.of(path);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("path: not a valid path (" + e.getReason() + ")");
    }
    if (!p.isAbsolute()) {
      if (modelDir == null) {
        throw new IllegalArgumentException("path: relative, but this node has no model.path to resolve it"
            + " against; send an absolute path");
      }
      p = modelDir.resolve(p);
    }
    return p.normalize();
  }

  private static Map<String, String> digests(Map<String, String> sha256) {
    if (sha256.isEmpty()) {
      throw new IllegalArgumentException("sha256: required: the expected SHA-256 of every weight file");
    }
    if (sha256.size() > MAX_FILES) {
      throw new IllegalArgumentException("sha256: more than " + MAX_FILES + " entries");
    }
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, String> e : sha256.entrySet()) {
      String file = e.getKey();
      if (file.isEmpty() || file.length() > MAX_FILE_NAME || file.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        throw new IllegalArgumentException("sha256: a file name must be 1 to " + MAX_FILE_NAME
            + " printable characters");
      }
      if (!HEX64.matcher(e.getValue()).matches()) {
        throw new IllegalArgumentException("sha256[" + shown(file) + "]: must be 64 hex digits");
      }
      out.put(file, e.getValue().toLowerCase(Locale.ROOT));
    }
    return out;
  }

  private static String version(String version) {
    if (version.length() > MAX_VERSION || !VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException("version: up to " + MAX_VERSION + " characters of [A-Za-z0-9._:+-]");
    }
    return version;
  }

  /** At most 64 characters of a caller's string, for messages. */
  static String shown(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
