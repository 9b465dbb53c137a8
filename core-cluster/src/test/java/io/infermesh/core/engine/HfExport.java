package io.infermesh.core.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Writes a GGUF Llama as a Hugging Face checkpoint directory ({@code config.json} + one F32
 * {@code model.safetensors}), the way the core reads it: names, shapes and the q/k "halves" row
 * order of {@link GgufCheckpoint}. Streams one tensor at a time, so models of hundreds of MB need
 * no more heap than their largest tensor. For benchmarks that hand the same weights to another
 * engine.
 */
public final class HfExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HfExport() {}

  /** Writes {@code gguf} into {@code dir} (created), overwriting what is there. */
  public static void write(Path gguf, Path dir) throws IOException {
    Files.createDirectories(dir);
    try (GgufCheckpoint cp = GgufCheckpoint.open(gguf)) {
      LlamaConfig c = cp.config();
      Map<String, long[]> tensors = SafetensorsWriter.llamaTensors(c);
      ObjectNode header = JSON.createObjectNode();
      header.putObject("__metadata__").put("format", "pt");
      long offset = 0;
      for (Map.Entry<String, long[]> e : tensors.entrySet()) {
        long elements = 1;
        ObjectNode n = header.putObject(e.getKey());
        n.put("dtype", "F32");
        var shape = n.putArray("shape");
        for (long d : e.getValue()) {
          shape.add(d);
          elements *= d;
        }
        n.putArray("data_offsets").add(offset).add(offset + 4 * elements);
        offset += 4 * elements;
      }
      StringBuilder h = new StringBuilder(JSON.writeValueAsString(header));
      while ((8 + h.length()) % 8 != 0) {
        h.append(' '); // tensors start 8-byte aligned, as the safetensors library writes them
      }
      byte[] headerBytes = h.toString().getBytes(StandardCharsets.US_ASCII);
      Path file = dir.resolve("model.safetensors");
      try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer head = ByteBuffer.allocate(8 + headerBytes.length).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(headerBytes.length).put(headerBytes).flip();
        writeFully(out, head);
        for (Map.Entry<String, long[]> e : tensors.entrySet()) {
          float[] t = cp.read(e.getKey(), e.getValue());
          ByteBuffer data = ByteBuffer.allocate(4 * t.length).order(ByteOrder.LITTLE_ENDIAN);
          data.asFloatBuffer().put(t);
          writeFully(out, data);
        }
      }
      SafetensorsWriter.writeConfig(dir, c, cp.file().metadata().findFloat("llama.rope.freq_base").orElse(10000f),
          false);
    }
  }

  private static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      out.write(buf);
    }
  }
}
