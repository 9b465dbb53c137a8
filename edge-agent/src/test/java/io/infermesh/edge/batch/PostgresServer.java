package io.infermesh.edge.batch;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL server of its own (Debian's {@code postgresql} package: {@code initdb} and
 * {@code pg_ctl} from {@code /usr/lib/postgresql/N/bin}) in a temp directory on a free loopback
 * port, trusting local connections, stopped by {@link #close}. As root it runs as {@code nobody}
 * ({@code runuser}), since PostgreSQL refuses root. Without PostgreSQL the test fails under {@code
 * CI=true} and is skipped with a loud message otherwise.
 */
final class PostgresServer implements AutoCloseable {
  private final Path bin;
  private final Path data;
  private final int port;
  private final boolean asNobody;

  private PostgresServer(Path bin, Path data, int port, boolean asNobody) {
    this.bin = bin;
    this.data = data;
    this.port = port;
    this.asNobody = asNobody;
  }

  static PostgresServer start(Path dir) throws IOException, InterruptedException {
    Optional<Path> bin = binaries();
    if (bin.isEmpty()) {
      String why = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql";
      if ("true".equals(System.getenv("CI"))) {
        fail(why);
      }
      System.err.println("SKIPPED LOUDLY: " + why);
      Assumptions.abort(why);
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    Path home = Files.createDirectories(dir.resolve("pg"));
    Path data = home.resolve("data");
    if (root) {
      run(List.of("chown", "-R", "nobody", home.toString()));
      // nobody must be able to reach the directory
      for (Path p = home.getParent(); p != null; p = p.getParent()) {
        run(List.of("chmod", "o+x", p.toString()));
      }
    }
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    PostgresServer server = new PostgresServer(bin.get(), data, port, root);
    run(server.command("initdb", "-D", data.toString(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"));
    run(server.command("pg_ctl", "-D", data.toString(), "-l", home.resolve("log").toString(), "-w", "-t", "60",
        "-o", "-p " + port + " -k " + home + " -c listen_addresses=127.0.0.1 -c fsync=off", "start"));
    return server;
  }

  private static Optional<Path> binaries() throws IOException {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
          .max(Comparator.comparing(Path::toString));
    }
  }

  private List<String> command(String tool, String... args) {
    List<String> out = new ArrayList<>();
    if (asNobody) {
      out.addAll(List.of("runuser", "-u", "nobody", "--"));
    }
    out.add(bin.resolve(tool).toString());
    out.addAll(List.of(args));
    return out;
  }

  private static void run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
  }

  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
  }

  @Override
  public void close() throws IOException, InterruptedException {
    run(command("pg_ctl", "-D", data.toString(), "-m", "immediate", "-w", "stop"));
  }
}
