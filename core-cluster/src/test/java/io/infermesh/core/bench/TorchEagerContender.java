package io.infermesh.core.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * PyTorch eager, as transformers' {@code LlamaForCausalLM.generate} runs it (greedy, batch of all
 * streams, KV cache grown with {@code torch.cat}): {@code torch_llama_eager.py} in a Python
 * process that loads the Hugging Face export of the same weights once and answers one JSON line
 * per batch. Decode time is measured inside Python, around the steps after the first token.
 *
 * <p>The column measures the PyTorch build it is given (here Debian's {@code python3-torch} 1.13
 * with OpenBLAS, no MKL). With 2 OpenMP threads it collapses on an oversubscribed machine (0.6
 * tok/s at a load average of 12 against 12.7 at 2): read its column beside the load average.
 */
final class TorchEagerContender implements Contender {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Process process;
  private final BufferedWriter in;
  private final BufferedReader out;
  private final String version;

  private TorchEagerContender(Process process, BufferedReader out, String version) {
    this.process = process;
    this.in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
    this.out = out;
    this.version = version;
  }

  /**
   * Starts {@code python} on {@code hfDir} with {@code threads} intra-op threads.
   *
   * @throws IOException saying why when the interpreter or torch is not there
   */
  static TorchEagerContender start(String python, Path hfDir, int threads, Path work) throws IOException {
    Path script = work.resolve("torch_llama_eager.py");
    try (InputStream s = TorchEagerContender.class.getResourceAsStream("torch_llama_eager.py")) {
      Files.copy(s, script, StandardCopyOption.REPLACE_EXISTING);
    }
    Path log = work.resolve("torch_llama_eager.log");
    Process p = new ProcessBuilder(python, script.toString(), hfDir.toString(), Integer.toString(threads))
        .redirectError(log.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String ready = out.readLine();
    if (ready == null || !ready.contains("\"ready\"")) {
      p.destroy();
      String err = Files.readString(log).strip();
      throw new IOException(python + " could not run PyTorch: "
          + (err.isEmpty() ? "no output" : err.substring(err.lastIndexOf('\n') + 1)));
    }
    return new TorchEagerContender(p, out, JSON.readTree(ready).path("torch").asText());
  }

  @Override
  public String name() {
    return "PyTorch eager " + version;
  }

  @Override
  public DecodeRun run(int[][] prompts, int maxTokens) throws Exception {
    ObjectNode req = JSON.createObjectNode();
    req.set("prompts", JSON.valueToTree(prompts));
    req.put("max_tokens", maxTokens);
    in.write(JSON.writeValueAsString(req));
    in.newLine();
    in.flush();
    String line = out.readLine();
    if (line == null) {
      throw new IOException("the PyTorch process ended (see torch_llama_eager.log)");
    }
    JsonNode answer = JSON.readTree(line);
    int[][] tokens = JSON.treeToValue(answer.get("tokens"), int[][].class);
    long decoded = 0;
    for (int[] t : tokens) {
      decoded += t.length - 1;
    }
    return new DecodeRun(decoded / answer.get("decode_s").asDouble(), tokens);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor(10, TimeUnit.SECONDS);
  }
}
