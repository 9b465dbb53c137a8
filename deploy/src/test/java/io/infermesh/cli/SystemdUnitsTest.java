package io.infermesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * The units in {@code deploy/systemd/}: each {@code ExecStart} is a command line the real {@code
 * infermesh} command accepts, reading the config that an annotated example in {@code deploy/}
 * documents, and a unit whose command stops through a shutdown hook (exit 143) says that 143 is a
 * clean stop.
 */
class SystemdUnitsTest {
  private static final Path UNITS = Path.of("systemd");

  static Stream<Path> units() throws IOException {
    try (Stream<Path> files = Files.list(UNITS)) {
      List<Path> found = files.filter(p -> p.toString().endsWith(".service")).sorted().toList();
      assertThat(found).as("units in %s", UNITS.toAbsolutePath()).hasSize(3);
      return found.stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("units")
  void execStart_isAnInfermeshCommandLineOverAnAnnotatedConfig(Path unit) throws IOException {
    Map<String, List<String>> service = section(unit, "Service");
    List<String> exec = Arrays.asList(single(service, "ExecStart").split("\\s+"));
    int jar = exec.indexOf("-jar");
    assertThat(jar).as("ExecStart runs the jar").isPositive();
    assertThat(exec.get(jar + 1)).isEqualTo("/opt/infermesh/infermesh.jar");
    String[] args = exec.subList(jar + 2, exec.size()).toArray(String[]::new);

    CommandLine.ParseResult parsed = Main.newCommandLine().parseArgs(args); // throws on an unknown option
    String command = parsed.subcommand().commandSpec().name();
    String config = parsed.subcommand().matchedOptionValue("--config", Path.of("")).toString();

    assertThat(unit.getFileName().toString()).isEqualTo("infermesh-" + command + ".service");
    String example = Map.of("edge", "edge.yaml", "core", "core.yaml", "control", "mesh.yaml").get(command);
    assertThat(config).isEqualTo("/etc/infermesh/" + example);
    assertThat(Path.of(example)).as("the annotated example to copy").isRegularFile();
    assertThat(single(service, "User")).isEqualTo("infermesh");
    assertThat(single(service, "KillSignal")).isEqualTo("SIGTERM");
    // edge turns SIGTERM into a drain and exits 0; core and control close in a shutdown hook (143)
    if (!command.equals("edge")) {
      assertThat(single(service, "SuccessExitStatus")).isEqualTo("143");
    }
    assertThat(section(unit, "Install").get("WantedBy")).containsExactly("multi-user.target");
  }

  private static String single(Map<String, List<String>> section, String key) {
    List<String> values = section.getOrDefault(key, List.of());
    assertThat(values).as(key).hasSize(1);
    return values.get(0);
  }

  /** The {@code key=value} lines of one {@code [name]} section (comments and blanks skipped). */
  private static Map<String, List<String>> section(Path unit, String name) throws IOException {
    Map<String, List<String>> values = new LinkedHashMap<>();
    String current = null;
    for (String line : Files.readAllLines(unit)) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#") || l.startsWith(";")) {
        continue;
      }
      if (l.startsWith("[")) {
        current = l.substring(1, l.length() - 1);
      } else if (name.equals(current)) {
        int eq = l.indexOf('=');
        values.computeIfAbsent(l.substring(0, eq), k -> new ArrayList<>()).add(l.substring(eq + 1));
      }
    }
    assertThat(values).as("[%s] in %s", name, unit).isNotEmpty();
    return values;
  }
}
