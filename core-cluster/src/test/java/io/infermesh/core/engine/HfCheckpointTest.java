package io.infermesh.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {
  private static final LlamaConfig CONFIG = RandomWeights.config(61, 32, 48, 2, 4, 2, 32, true);
  private static RandomWeights weights;
  private static float[] expected;

  @BeforeAll
  static void reference() throws Exception {
    weights = new RandomWeights(CONFIG, 11);
    try (LlamaModel model = LlamaModel.load(CONFIG, LayerRange.all(2), weights, Device.cpu(), 32)) {
      expected = model.forward(ForwardBatch.contiguous(new int[] {1, 7, 30, 12}, 0))[0];
    }
  }

  @Test
  void open_singleFileTransformers4Config_loadsSameModel(@TempDir Path dir) throws Exception {
    SafetensorsWriter.writeConfig(dir, CONFIG, 10000, false);
    SafetensorsWriter.write(dir.resolve("model.safetensors"), weights, SafetensorsWriter.llamaTensors(CONFIG));
    assertSameLogits(dir);
  }

  @Test
  void open_shardedTransformers5Config_loadsSameModel(@TempDir Path dir) throws Exception {
    SafetensorsWriter.writeConfig(dir, CONFIG, 10000, true);
    SafetensorsWriter.writeSharded(dir, weights, SafetensorsWriter.llamaTensors(CONFIG), 3);
    assertSameLogits(dir);
  }

  @Test
  void open_ropeParameters_readsThetaFromThem(@TempDir Path dir) throws Exception {
    SafetensorsWriter.writeConfig(dir, CONFIG, 500000, true);
    SafetensorsWriter.write(dir.resolve("model.safetensors"), weights, SafetensorsWriter.llamaTensors(CONFIG));
    try (HfCheckpoint cp = HfCheckpoint.open(dir)) {
      assertThat(cp.config().ropeInverseFrequencies()[1])
          .isCloseTo(Math.pow(500000, -2.0 / CONFIG.headDim()), within(1e-12));
    }
  }

  @Test
  void open_truncatedWeights_failsNamingTheFile(@TempDir Path dir) throws Exception {
    SafetensorsWriter.writeConfig(dir, CONFIG, 10000, false);
    Path file = dir.resolve("model.safetensors");
    SafetensorsWriter.write(file, weights, SafetensorsWriter.llamaTensors(CONFIG));
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
    assertThatThrownBy(() -> HfCheckpoint.open(dir))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("model.safetensors")
        .hasMessageContaining("truncated");
  }

  @Test
  void open_unsupportedModelType_failsNamingIt(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"hidden_size\": 8}");
    assertThatThrownBy(() -> HfCheckpoint.open(dir)).hasMessageContaining("gpt2");
  }

  @Test
  void halfToFloat_knownValues_decodeExactly() {
    assertThat(Safetensors.halfToFloat((short) 0x3c00)).isEqualTo(1f);
    assertThat(Safetensors.halfToFloat((short) 0xc000)).isEqualTo(-2f);
    assertThat(Safetensors.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(Safetensors.halfToFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(Safetensors.halfToFloat((short) 0x3555)).isCloseTo(0.33325f, within(1e-5f));
  }

  private static void assertSameLogits(Path dir) throws Exception {
    try (HfCheckpoint cp = HfCheckpoint.open(dir);
        LlamaModel model = LlamaModel.load(cp.config(), LayerRange.all(2), cp, Device.cpu(), 32)) {
      assertThat(cp.config()).isEqualTo(CONFIG);
      float[] logits = model.forward(ForwardBatch.contiguous(new int[] {1, 7, 30, 12}, 0))[0];
      assertThat(logits).containsExactly(expected, within(1e-6f));
    }
  }
}
