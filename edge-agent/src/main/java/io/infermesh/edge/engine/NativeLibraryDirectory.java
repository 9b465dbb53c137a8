package io.infermesh.edge.engine;

import io.infermesh.node.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives this process its own directory for llama.cpp's native library before the binding loads it.
 *
 * <p>de.kherud's loader extracts {@code libjllama.so} into one shared temp directory and, on start,
 * deletes every {@code jllama}/{@code llama} library it finds there — including the one another
 * process has just extracted and is loading. Two edges (or an edge and a test) starting together on
 * one host then fail with {@code UnsatisfiedLinkError} or SIGBUS. Unless the user chose a directory
 * ({@code -Dde.kherud.llama.tmpdir}), each process extracts into a private directory removed at exit
 * (a {@code kill -9} leaves it behind, about 10 MiB). Even with a library of the user's ({@code
 * -Dde.kherud.llama.lib.path}, e.g. llama.cpp built for this CPU) the loader still cleans that
 * directory, and extracts into it when the user's library fails. Idempotent and thread-safe.
 *
 * <p>A library of the user's ({@code engine.native_library}, {@link #select}) is checked after the
 * load ({@link #checkLoaded}): the binding silently falls back to its bundled library when the chosen
 * one fails to load (wrong CPU, missing symbols), and that must not pass for the user's build.
 */
public final class NativeLibraryDirectory {
  /** The config key that names the directory of a {@code libjllama.so} of the user's. */
  public static final String KEY = "engine.native_library";
  static final String TMPDIR = "de.kherud.llama.tmpdir";
  static final String LIB_PATH = "de.kherud.llama.lib.path";
  private static final Logger log = LoggerFactory.getLogger(NativeLibraryDirectory.class);

  private NativeLibraryDirectory() {}

  /** Sets {@value #TMPDIR} to a fresh private directory unless the user set it. */
  static synchronized void claim() {
    if (System.getProperty(LIB_PATH) != null) {
      log.info("llama.cpp: native library from {} ({})", System.getProperty(LIB_PATH), LIB_PATH);
    }
    if (System.getProperty(TMPDIR) != null) {
      return;
    }
    try {
      Path dir = Files.createTempDirectory("infermesh-llama-");
      File library = dir.resolve(System.mapLibraryName("jllama")).toFile();
      dir.toFile().deleteOnExit(); // registered first: deleted last, after the library in it
      library.deleteOnExit();
      System.setProperty(TMPDIR, dir.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a private directory for llama.cpp's native library in "
          + System.getProperty("java.io.tmpdir") + "; set -D" + TMPDIR + " to a writable directory", e);
    }
  }

  /**
   * Makes the binding load {@code libjllama.so} from {@code dir} ({@value #KEY}); call before
   * anything loads llama.cpp in this process.
   *
   * @throws ConfigException naming {@value #KEY} when this process already loaded llama.cpp's
   *     library from elsewhere (a process loads one) or {@code -D}{@value #LIB_PATH} names another
   *     directory
   */
  public static synchronized void select(Path dir) {
    Path wanted = dir.toAbsolutePath().normalize();
    Path library = wanted.resolve(System.mapLibraryName("jllama"));
    Optional<Path> loaded = loaded();
    if (loaded.isPresent()) {
      if (!sameFile(loaded.get(), library)) {
        throw new ConfigException(KEY, "is " + wanted + ", but this process already loaded llama.cpp's library from "
            + loaded.get() + " (a process loads one)");
      }
      return;
    }
    String property = System.getProperty(LIB_PATH);
    if (property != null && !Path.of(property).toAbsolutePath().normalize().equals(wanted)) {
      throw new ConfigException(KEY, "is " + wanted + ", but -D" + LIB_PATH + " is " + property + "; set one of them");
    }
    System.setProperty(LIB_PATH, wanted.toString());
  }

  /**
   * After a load: when {@value #LIB_PATH} is set, the library mapped must be the one in that
   * directory.
   *
   * @throws IllegalStateException when the binding fell back to another library
   */
  static void checkLoaded() {
    String property = System.getProperty(LIB_PATH);
    Optional<Path> loaded = loaded();
    if (property == null || loaded.isEmpty()) {
      return; // the bundled library, or no /proc to tell
    }
    Path wanted = Path.of(property, System.mapLibraryName("jllama")).toAbsolutePath().normalize();
    if (!sameFile(loaded.get(), wanted)) {
      throw new IllegalStateException("llama.cpp's library " + wanted + " (" + KEY + " / -D" + LIB_PATH
          + ") did not load; the binding fell back to " + loaded.get() + ". Its reason is on stderr (a library built "
          + "for another CPU or another binding version fails this way)");
    }
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.isSameFile(a, b);
    } catch (IOException e) {
      return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }
  }

  /**
   * The {@code libjllama.so} this process has mapped, read from {@code /proc/self/maps}; empty before
   * the binding loaded or where that file does not exist. The binding falls back to its bundled
   * library when the one at {@value #LIB_PATH} fails to load, and only says so on stderr: this is how
   * to tell which one runs.
   */
  static Optional<Path> loaded() {
    String name = System.mapLibraryName("jllama");
    try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
      return maps.map(line -> line.indexOf('/') < 0 ? "" : line.substring(line.indexOf('/')))
          .filter(file -> file.endsWith("/" + name))
          .findFirst()
          .map(Path::of);
    } catch (IOException | UncheckedIOException e) {
      return Optional.empty();
    }
  }
}
