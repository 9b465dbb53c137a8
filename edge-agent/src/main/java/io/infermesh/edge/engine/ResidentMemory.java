package io.infermesh.edge.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * This process's resident memory, read from {@code /proc/self/status}: what unloading a model has
 * to give back. Empty where there is no such file (not Linux) or it cannot be read.
 */
final class ResidentMemory {
  private static final Path STATUS = Path.of("/proc/self/status");
  private static final String RESIDENT = "VmRSS:";

  private ResidentMemory() {}

  /** Resident bytes now, or empty when unknown. */
  static OptionalLong bytes() {
    try {
      return parse(Files.readAllLines(STATUS));
    } catch (IOException | SecurityException e) {
      return OptionalLong.empty();
    }
  }

  /** The {@code VmRSS:} line of a {@code /proc/PID/status} file, in bytes (the kernel writes kB). */
  static OptionalLong parse(List<String> statusLines) {
    for (String line : statusLines) {
      if (line.startsWith(RESIDENT)) {
        String[] fields = line.substring(RESIDENT.length()).trim().split("\\s+");
        if (fields.length == 2 && fields[1].toLowerCase(Locale.ROOT).equals("kb")) {
          try {
            return OptionalLong.of(Long.parseLong(fields[0]) * 1024);
          } catch (NumberFormatException e) {
            return OptionalLong.empty();
          }
        }
      }
    }
    return OptionalLong.empty();
  }

  /**
   * What to log after a model of {@code modelBytes} was closed: whether the process gave back at
   * least half of it. The binding as released frees nothing on close (kherud/java-llama.cpp#102), so each
   * swap would keep an old model resident until restart; that is worth a warning with the figures.
   */
  static Unload unload(String model, long modelBytes, OptionalLong before, OptionalLong after) {
    if (before.isEmpty() || after.isEmpty()) {
      return new Unload(false, "unloaded model " + model);
    }
    long freed = before.getAsLong() - after.getAsLong();
    if (freed >= modelBytes / 2) {
      return new Unload(false, String.format(Locale.ROOT, "unloaded model %s: %d MiB freed", model, freed >> 20));
    }
    return new Unload(true, String.format(Locale.ROOT, "unloaded model %s, but only %d MiB of its %d MiB were freed"
        + " (resident %d MiB before, %d MiB after): the llama.cpp binding as released (the bundled library, or one"
        + " built with --no-free-patch) does not free a closed model (kherud/java-llama.cpp#102), so it stays"
        + " resident until the agent restarts; build the binding with edge-agent/native/build-binding.sh, whose patch"
        + " frees it (edge-agent README, \"Known limits of the binding\")",
        model, Math.max(0, freed) >> 20, modelBytes >> 20, before.getAsLong() >> 20, after.getAsLong() >> 20));
  }

  /** A line for the log, and whether it is a warning. */
  record Unload(boolean warning, String message) {}
}
