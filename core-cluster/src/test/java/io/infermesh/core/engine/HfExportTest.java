package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfExportTest {

  @Test
  void write_tinyCoreGguf_givesAnHfCheckpointWithTheSameConfigAndTensors(@TempDir Path dir) throws Exception {
    Path gguf = TinyModels.write(TinyModelSpec.core(GgmlType.F32), dir);
    Path hf = dir.resolve("hf");

    HfExport.write(gguf, hf);

    ByteBuffer length = ByteBuffer.wrap(Files.readAllBytes(hf.resolve("model.safetensors")), 0, 8)
        .order(ByteOrder.LITTLE_ENDIAN);
    try (GgufCheckpoint g = GgufCheckpoint.open(gguf); HfCheckpoint h = HfCheckpoint.open(hf)) {
      assertThat(h.config()).isEqualTo(g.config());
      for (Map.Entry<String, long[]> t : SafetensorsWriter.llamaTensors(g.config()).entrySet()) {
        assertThat(h.read(t.getKey(), t.getValue())).as(t.getKey()).containsExactly(g.read(t.getKey(), t.getValue()));
      }
    }
    assertThat((8 + length.getLong()) % 8).as("tensors start 8-byte aligned, as the safetensors library writes them")
        .isZero();
  }
}
