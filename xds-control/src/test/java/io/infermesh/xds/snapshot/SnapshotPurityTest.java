package io.infermesh.xds.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The snapshot package is policy: it must stay free of transport, threads and wall-clock time,
 * the way java-control-plane's cache module stays free of gRPC.
 */
class SnapshotPurityTest {

  private static final List<String> FORBIDDEN = List.of(
      "import io.grpc", "import java.net", "import com.sun.net", "import io.infermesh.xds.server",
      "import io.infermesh.xds.discovery", "import io.infermesh.xds.config", "System.nanoTime",
      "System.currentTimeMillis", "Instant.now()", "Executors.", "new Thread(");

  @Test
  void snapshotSources_useNoTransportThreadsOrClock() throws IOException {
    Path dir = Path.of(System.getProperty("basedir", "."), "src/main/java/io/infermesh/xds/snapshot");
    List<String> violations = new ArrayList<>();
    int files;
    try (Stream<Path> sources = Files.list(dir)) {
      List<Path> list = sources.filter(p -> p.toString().endsWith(".java")).toList();
      files = list.size();
      for (Path p : list) {
        List<String> lines = Files.readAllLines(p);
        for (int i = 0; i < lines.size(); i++) {
          for (String f : FORBIDDEN) {
            if (lines.get(i).contains(f)) {
              violations.add(p.getFileName() + ":" + (i + 1) + ": " + lines.get(i).trim());
            }
          }
        }
      }
    }
    assertThat(files).as("sources found in " + dir).isGreaterThan(20);
    assertThat(violations).isEmpty();
  }
}
