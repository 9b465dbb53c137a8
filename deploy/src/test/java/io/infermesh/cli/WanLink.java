package io.infermesh.cli;

import static java.util.Objects.requireNonNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A WAN link between this JVM's network namespace (the edge side) and a namespace of its own (the
 * core side), for tests that need real packets to be late, lost or not delivered at all.
 *
 * <pre>
 *   root namespace                 wire namespace                     core namespace
 *   imw&lt;id&gt;e0 10.231.a.b+1/30 ── veth ── imw&lt;id&gt;e1 ⇄ wire.py ⇄ imw&lt;id&gt;c1 ── veth ── imw&lt;id&gt;c0 10.231.a.b+2/30
 * </pre>
 *
 * <p>The wire ({@code wire.py}, a test resource) forwards Ethernet frames between its two veth ends
 * through AF_PACKET sockets, adding delay and jitter, dropping a share of frames, or dropping all of
 * them (a partition): {@code tc netem}'s job, done in userspace because the kernels this repository
 * is built on lack {@code sch_netem}. Offloads are off on every veth end so that frames are
 * MTU-sized with real checksums. Addresses are a private /30 picked from this process id, so two
 * test JVMs never share one; links and namespaces are named after the process id, and {@link
 * #create} first removes those of test processes that no longer run.
 *
 * <p>Needs root, {@code ip} (iproute2), {@code ethtool} and {@code python3}: {@link
 * #unavailableReason()} says what is missing. Not thread-safe; {@link #close()} removes everything,
 * also after a partial {@link #create}.
 */
final class WanLink implements AutoCloseable {
  private static final String PREFIX = "imw";
  private static final Pattern OURS = Pattern.compile(PREFIX + "(\\d+)(e0|-core|-wire)");
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

  private final long id;
  private final String coreNamespace;
  private final String wireNamespace;
  private final String edgeAddress;
  private final String coreAddress;
  private final List<String> cleanup = new ArrayList<>();
  private Process wire;
  private Writer wireInput;
  private final BlockingQueue<String> wireOutput = new LinkedBlockingQueue<>();

  private WanLink(long id) {
    this.id = id;
    this.coreNamespace = PREFIX + id + "-core";
    this.wireNamespace = PREFIX + id + "-wire";
    int subnet = (int) (id % 16_384); // 16 384 /30s in 10.231.0.0/16
    String base = "10.231." + (subnet / 64) + ".";
    this.edgeAddress = base + (subnet % 64 * 4 + 1);
    this.coreAddress = base + (subnet % 64 * 4 + 2);
  }

  /** Why a link cannot be made here, or empty when it can. */
  static Optional<String> unavailableReason() {
    if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
      return Optional.of("network namespaces need Linux, this is " + System.getProperty("os.name"));
    }
    try {
      String uid = run(List.of("id", "-u")).strip();
      if (!uid.equals("0")) {
        return Optional.of("network namespaces need root, this test runs as uid " + uid);
      }
    } catch (IOException e) {
      return Optional.of("cannot run `id -u`: " + e.getMessage());
    }
    for (String[] tool : new String[][] {{"ip", "iproute2"}, {"ethtool", "ethtool"}, {"python3", "python3"}}) {
      try {
        run(List.of(tool[0], tool[0].equals("ip") ? "-V" : "--version"));
      } catch (IOException e) {
        return Optional.of("`" + tool[0] + "` is missing (apt-get install " + tool[1] + "): " + e.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * Creates the namespaces, the veth pairs and the wire (forwarding without delay or loss).
   *
   * @param work where the wire script is written
   */
  static WanLink create(Path work) throws IOException, InterruptedException {
    removeStale();
    WanLink link = new WanLink(ProcessHandle.current().pid());
    try {
      link.build(work);
      return link;
    } catch (IOException | InterruptedException | RuntimeException e) {
      link.close();
      throw e;
    }
  }

  private void build(Path work) throws IOException, InterruptedException {
    String e0 = PREFIX + id + "e0";
    String e1 = PREFIX + id + "e1";
    String c0 = PREFIX + id + "c0";
    String c1 = PREFIX + id + "c1";
    ip("netns", "add", wireNamespace);
    cleanup.add(0, "ip netns del " + wireNamespace);
    ip("netns", "add", coreNamespace);
    cleanup.add(0, "ip netns del " + coreNamespace);
    ip("link", "add", e0, "type", "veth", "peer", "name", e1, "netns", wireNamespace);
    cleanup.add(0, "ip link del " + e0);
    ip("link", "add", c0, "netns", coreNamespace, "type", "veth", "peer", "name", c1, "netns", wireNamespace);
    ip("addr", "add", edgeAddress + "/30", "dev", e0);
    ip("-n", coreNamespace, "addr", "add", coreAddress + "/30", "dev", c0);
    for (String[] end : new String[][] {{"", e0}, {wireNamespace, e1}, {wireNamespace, c1}, {coreNamespace, c0}}) {
      List<String> ethtool = new ArrayList<>(List.of("ethtool", "-K", end[1], "tx", "off", "rx", "off", "tso", "off",
          "gso", "off", "gro", "off"));
      run(inNamespace(end[0], ethtool));
      ip(end[0].isEmpty() ? new String[] {"link", "set", end[1], "up"}
          : new String[] {"-n", end[0], "link", "set", end[1], "up"});
    }
    ip("-n", coreNamespace, "link", "set", "lo", "up");
    Path script = work.resolve("wire.py");
    try (InputStream in = WanLink.class.getResourceAsStream("/wan/wire.py")) {
      Files.copy(requireNonNull(in, "wan/wire.py on the test class path"), script);
    }
    wire = new ProcessBuilder(inNamespace(wireNamespace, List.of("python3", "-u", script.toString(), e1, c1, "42")))
        .redirectErrorStream(true).start();
    wireInput = new OutputStreamWriter(wire.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(wire.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          wireOutput.add(line);
        }
      } catch (IOException e) {
        wireOutput.add("closed: " + e);
      }
      wireOutput.add("exited");
    }, "wan-wire-output");
    reader.setDaemon(true);
    reader.start();
    expect("ready");
  }

  /** This side's address on the link. */
  String edgeAddress() {
    return edgeAddress;
  }

  /** The core side's address on the link. */
  String coreAddress() {
    return coreAddress;
  }

  /** The namespace of the core side, for {@code ip netns exec}. */
  String coreNamespace() {
    return coreNamespace;
  }

  /** {@code command} run inside the core side's namespace. */
  List<String> inCoreNamespace(List<String> command) {
    return inNamespace(coreNamespace, command);
  }

  /** Every frame, each way, delayed by {@code delay} ± {@code jitter} (uniform) and dropped with probability {@code loss}. */
  void impair(Duration delay, Duration jitter, double loss) throws IOException, InterruptedException {
    command("set " + delay.toMillis() + " " + jitter.toMillis() + " " + loss);
  }

  /** Drops every frame from now on. */
  void partition() throws IOException, InterruptedException {
    command("partition");
  }

  /** Forwards again, with the last {@link #impair} settings. */
  void heal() throws IOException, InterruptedException {
    command("heal");
  }

  /** Frames forwarded and dropped so far, as the wire reports them. */
  String stats() throws IOException, InterruptedException {
    wireInput.write("stats\n");
    wireInput.flush();
    String stats = expect("stats ");
    expect("ok stats");
    return stats.substring("stats ".length());
  }

  private void command(String command) throws IOException, InterruptedException {
    wireInput.write(command + "\n");
    wireInput.flush();
    expect("ok " + command);
  }

  private String expect(String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + COMMAND_TIMEOUT.toNanos();
    for (;;) {
      String line = wireOutput.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null || line.equals("exited")) {
        throw new IllegalStateException("the wire did not answer '" + prefix + "' (" + (line == null ? "timeout"
            : "it exited") + ")");
      }
      if (line.startsWith(prefix)) {
        return line;
      }
    }
  }

  /** Stops the wire and removes the links and namespaces; never throws. */
  @Override
  public void close() {
    if (wire != null) {
      wire.destroy();
      try {
        if (!wire.waitFor(5, TimeUnit.SECONDS)) {
          wire.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (String step : cleanup) {
      try {
        run(List.of(step.split(" ")));
      } catch (IOException e) {
        System.err.println("WanLink: cleanup step '" + step + "' failed: " + e.getMessage());
      }
    }
    cleanup.clear();
  }

  @Override
  public String toString() {
    return "WanLink{" + edgeAddress + " <-> " + coreAddress + " in " + coreNamespace + "}";
  }

  /** Removes links and namespaces left by test JVMs that died before their cleanup ran. */
  private static void removeStale() throws IOException {
    List<String> stale = new ArrayList<>();
    for (String line : run(List.of("ip", "netns", "list")).split("\n")) {
      String name = line.split(" ")[0];
      Matcher m = OURS.matcher(name);
      if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
        stale.add("ip netns del " + name);
      }
    }
    for (String line : run(List.of("ip", "-o", "link", "show")).split("\n")) {
      String[] fields = line.split(":\\s+");
      if (fields.length > 1) {
        String name = fields[1].split("@")[0];
        Matcher m = OURS.matcher(name);
        if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
          stale.add(0, "ip link del " + name);
        }
      }
    }
    for (String step : stale) {
      System.out.println("WanLink: removing what a dead test process left: " + step);
      try {
        run(List.of(step.split(" ")));
      } catch (IOException e) {
        System.err.println("WanLink: '" + step + "' failed: " + e.getMessage());
      }
    }
  }

  private static List<String> inNamespace(String namespace, List<String> command) {
    if (namespace.isEmpty()) {
      return command;
    }
    List<String> wrapped = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
    wrapped.addAll(command);
    return wrapped;
  }

  private static void ip(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("ip"));
    command.addAll(List.of(args));
    run(command);
  }

  /** Runs {@code command} to completion (at most 30 s) and returns its output; throws when it fails. */
  private static String run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + ": still running after 30 s");
      }
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + out.strip());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + ": interrupted", e);
    }
  }
}
