package io.infermesh.edge.engine;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives this process its own directory for llama.cpp's native library before the binding loads it.
 *
 * <p>de.kherud's loader extracts {@code libjllama.so} into one shared temp directory and, on start,
 * deletes every {@code jllama}/{@code llama} library it finds there — including the one another
 * process has just extracted and is loading. Two edges (or an edge and a test) starting together on
 * one host then fail with {@code UnsatisfiedLinkError} or SIGBUS. Unless the user chose a directory
 * ({@code -Dde.kherud.llama.tmpdir}) or a library ({@code -Dde.kherud.llama.lib.path}, e.g. a
 * llama.cpp built for this CPU), each process extracts into a private directory removed at exit
 * (a {@code kill -9} leaves it behind, about 10 MiB). Idempotent and thread-safe.
 */
final class NativeLibraryDirectory {
  static final String TMPDIR = "de.kherud.llama.tmpdir";
  static final String LIB_PATH = "de.kherud.llama.lib.path";
  private static final Logger log = LoggerFactory.getLogger(NativeLibraryDirectory.class);

  private NativeLibraryDirectory() {}

  /** Sets {@value #TMPDIR} to a fresh private directory unless the user set it or {@value #LIB_PATH}. */
  static synchronized void claim() {
    if (System.getProperty(TMPDIR) != null) {
      return;
    }
    if (System.getProperty(LIB_PATH) != null) {
      log.info("llama.cpp: native library from {} ({})", System.getProperty(LIB_PATH), LIB_PATH);
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
}
