package io.infermesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code infermesh batch}: OpenAI batch jobs on an edge ({@link BatchClient}): {@code submit}
 * a JSONL file (upload, create, and with {@code --wait} follow it with a progress bar on stderr),
 * {@code status} of a batch, {@code results} of a finished one.
 */
@Command(
    name = "batch",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {"Submit OpenAI batch jobs to an edge and fetch their results.", ""},
    subcommands = {BatchCommand.Submit.class, BatchCommand.Status.class, BatchCommand.Results.class},
    footer = {
      "",
      "Example:",
      "  infermesh batch submit requests.jsonl --endpoint /v1/chat/completions --wait",
      "  infermesh batch results batch_0123... -o answers.jsonl"
    })
final class BatchCommand implements Runnable {
  private static final Set<String> FINAL = Set.of("completed", "failed", "expired", "cancelled");
  private static final int BAR = 30;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Where the edge is and who we are. */
  static final class Target {
    @Option(names = "--url", paramLabel = "URL", description = "The edge's OpenAI base URL (default: ${DEFAULT-VALUE}).")
    String url = "http://127.0.0.1:8080/v1";

    @Option(names = "--api-key", paramLabel = "KEY",
        description = "API key (default: $OPENAI_API_KEY, or none when the edge has no keys).")
    String apiKey;

    BatchClient client() {
      return new BatchClient(url, apiKey != null ? apiKey : System.getenv().getOrDefault("OPENAI_API_KEY", ""));
    }
  }

  @Command(name = "submit", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
      description = "Upload FILE (JSONL: custom_id, method, url, body per line) and create a batch; prints its id.")
  static final class Submit implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin Target target;

    @Parameters(paramLabel = "FILE", description = "The requests, one JSON object per line.")
    Path file;

    @Option(names = "--endpoint", paramLabel = "PATH",
        description = "/v1/chat/completions (default), /v1/completions or /v1/embeddings.")
    String endpoint = "/v1/chat/completions";

    @Option(names = "--wait", description = "Follow the batch until it ends, with a progress bar on stderr.")
    boolean await;

    @Override
    public Integer call() throws IOException, InterruptedException {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("no such file: " + file);
      }
      BatchClient client = target.client();
      JsonNode batch = client.create(client.upload(file), endpoint);
      PrintWriter out = spec.commandLine().getOut();
      out.println(batch.get("id").asText());
      out.flush();
      if (!await) {
        return 0;
      }
      JsonNode last = follow(client, batch.get("id").asText(), spec.commandLine().getErr());
      return last.path("status").asText().equals("completed") ? 0 : 1;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
      description = "Print a batch's status and request counts.")
  static final class Status implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin Target target;

    @Parameters(paramLabel = "ID", description = "The batch id (batch_...).")
    String id;

    @Option(names = "--wait", description = "Follow the batch until it ends, with a progress bar on stderr.")
    boolean await;

    @Override
    public Integer call() throws IOException, InterruptedException {
      BatchClient client = target.client();
      JsonNode batch = await ? follow(client, id, spec.commandLine().getErr()) : client.retrieve(id);
      PrintWriter out = spec.commandLine().getOut();
      out.println(line(batch));
      out.flush();
      return 0;
    }
  }

  @Command(name = "results", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
      description = "Write a finished batch's output file (and, with --errors, its error file) to stdout or FILE.")
  static final class Results implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin Target target;

    @Parameters(paramLabel = "ID", description = "The batch id (batch_...).")
    String id;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write here instead of stdout.")
    Path output;

    @Option(names = "--errors", description = "The error file (failed lines) instead of the output file.")
    boolean errors;

    @Override
    public Integer call() throws IOException, InterruptedException {
      BatchClient client = target.client();
      JsonNode batch = client.retrieve(id);
      JsonNode fileId = batch.path(errors ? "error_file_id" : "output_file_id");
      if (!fileId.isTextual()) {
        throw new IllegalArgumentException("batch " + id + " has no " + (errors ? "error" : "output") + " file ("
            + line(batch) + ")");
      }
      try (InputStream in = client.content(fileId.asText())) {
        if (output != null) {
          Files.copy(in, output, StandardCopyOption.REPLACE_EXISTING);
        } else {
          OutputStream out = System.out;
          in.transferTo(out);
          out.flush();
        }
      }
      return 0;
    }
  }

  /** Polls the batch every half second until it ends, drawing a bar on {@code err}; returns its last state. */
  static JsonNode follow(BatchClient client, String id, PrintWriter err) throws IOException, InterruptedException {
    while (true) {
      JsonNode batch = client.retrieve(id);
      err.print("\r" + bar(batch));
      err.flush();
      if (FINAL.contains(batch.path("status").asText())) {
        err.println();
        err.flush();
        return batch;
      }
      Thread.sleep(Duration.ofMillis(500).toMillis());
    }
  }

  /** {@code [#########.....] 1234/10000 done, 2 failed, in_progress}. */
  static String bar(JsonNode batch) {
    JsonNode c = batch.path("request_counts");
    long total = c.path("total").asLong();
    long failed = c.path("failed").asLong();
    long done = c.path("completed").asLong() + failed;
    int filled = total == 0 ? 0 : (int) (BAR * done / total);
    return "[" + "#".repeat(filled) + ".".repeat(BAR - filled) + "] " + done + "/" + total + " done, " + failed
        + " failed, " + batch.path("status").asText();
  }

  static String line(JsonNode batch) {
    JsonNode c = batch.path("request_counts");
    return batch.path("id").asText() + " " + batch.path("status").asText() + " total=" + c.path("total").asLong()
        + " completed=" + c.path("completed").asLong() + " failed=" + c.path("failed").asLong()
        + (batch.path("output_file_id").isTextual() ? " output_file_id=" + batch.get("output_file_id").asText() : "")
        + (batch.path("error_file_id").isTextual() ? " error_file_id=" + batch.get("error_file_id").asText() : "");
  }
}
