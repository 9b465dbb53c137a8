package io.infermesh.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufRoundTripTest {
  @TempDir Path dir;

  private static GgufMetadata everyType(int alignment) {
    return GgufMetadata.builder()
        .put("u8", GgufValue.uint8(255))
        .put("i8", GgufValue.int8(-128))
        .put("u16", GgufValue.uint16(65535))
        .put("i16", GgufValue.int16(-32768))
        .put("u32", GgufValue.uint32(4_294_967_295L))
        .put("i32", GgufValue.int32(Integer.MIN_VALUE))
        .put("u64", GgufValue.uint64(-1L))
        .put("i64", GgufValue.int64(Long.MIN_VALUE))
        .put("f32", GgufValue.float32(-1.5e-7f))
        .put("f64", GgufValue.float64(Math.PI))
        .put("bool", GgufValue.bool(true))
        .put("string", GgufValue.string("héllo, 世界 🤖\n"))
        .put("empty.string", GgufValue.string(""))
        .put("strings", GgufValue.stringArray(List.of("a", "", "ünïcödé")))
        .put("i32s", GgufValue.int32Array(new int[] {1, -2, 3}))
        .put("u32s", GgufValue.uint32Array(new int[] {-1, 0}))
        .put("f32s", GgufValue.float32Array(new float[] {0.5f, Float.NaN, Float.NEGATIVE_INFINITY}))
        .put("u8s", GgufValue.array(GgufValueType.UINT8, List.of(GgufValue.uint8(0), GgufValue.uint8(200))))
        .put("i16s", GgufValue.array(GgufValueType.INT16, List.of(GgufValue.int16(-5))))
        .put("u64s", GgufValue.array(GgufValueType.UINT64, List.of(GgufValue.uint64(7))))
        .put("f64s", GgufValue.array(GgufValueType.FLOAT64, List.of(GgufValue.float64(1e300))))
        .put("bools", GgufValue.array(GgufValueType.BOOL, List.of(GgufValue.bool(false), GgufValue.bool(true))))
        .put("empty.array", GgufValue.array(GgufValueType.INT64, List.of()))
        .put("nested", GgufValue.array(GgufValueType.ARRAY, List.of(
            GgufValue.stringArray(List.of("x", "y")), GgufValue.int32Array(new int[] {9}))))
        .put(GgufMetadata.ALIGNMENT_KEY, GgufValue.uint32(alignment))
        .build();
  }

  private static float[] randomValues(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * 0.7);
    return v;
  }

  @Test
  void writeThenOpen_everyValueTypeAndTensorType_readsBackEqual() throws IOException {
    GgufMetadata metadata = everyType(64);
    float[] f32 = randomValues(3 * 5, 1);
    float[] f16 = randomValues(64, 2);
    float[] bf16 = randomValues(10, 3);
    float[] q8 = randomValues(64 * 3, 4);
    float[] q4 = randomValues(32 * 2 * 2, 5);
    Path file = dir.resolve("all.gguf");
    try (GgufWriter w = GgufWriter.builder()
        .metadata(metadata)
        .tensor("f32", GgmlType.F32, 3, 5)
        .tensor("f16", GgmlType.F16, 64)
        .tensor("bf16", GgmlType.BF16, 10)
        .tensor("q8", GgmlType.Q8_0, 64, 3)
        .tensor("q4", GgmlType.Q4_0, 32, 2, 2)
        .open(file)) {
      w.writeTensor("f32", f32);
      w.writeTensor("f16", f16);
      w.writeTensor("bf16", bf16);
      w.writeTensor("q8", q8);
      w.writeTensor("q4", q4);
    }

    try (GgufFile gguf = GgufFile.open(file)) {
      assertThat(gguf.version()).isEqualTo(3);
      assertThat(gguf.metadata()).isEqualTo(metadata);
      assertThat(List.copyOf(gguf.metadata().keys())).containsExactlyElementsOf(metadata.keys());
      assertThat(gguf.alignment()).isEqualTo(64);
      assertThat(gguf.dataOffset() % 64).isZero();
      assertThat(gguf.fileSize() % 64).isZero();
      assertThat(gguf.tensors()).extracting(GgufTensorInfo::name).containsExactly("f32", "f16", "bf16", "q8", "q4");
      for (GgufTensorInfo t : gguf.tensors()) {
        assertThat(t.offset() % 64).as(t.name()).isZero();
      }
      GgufTensorInfo q4Info = gguf.tensor("q4");
      assertThat(q4Info.dims()).containsExactly(32, 2, 2);
      assertThat(q4Info.rowCount()).isEqualTo(4);
      assertThat(q4Info.byteSize()).isEqualTo(4 * 18);

      assertThat(gguf.dequantize("f32")).containsExactly(f32);
      assertThat(gguf.dequantize("f16")).containsExactly(TensorCodec.dequantize(GgmlType.F16, ByteBuffer.wrap(TensorCodec.quantize(GgmlType.F16, f16)), 64));
      assertThat(gguf.dequantize("bf16")).containsExactly(TensorCodec.dequantize(GgmlType.BF16, ByteBuffer.wrap(TensorCodec.quantize(GgmlType.BF16, bf16)), 10));
      assertThat(bytes(gguf.tensorData(gguf.tensor("q8")))).isEqualTo(TensorCodec.quantize(GgmlType.Q8_0, q8));
      assertThat(bytes(gguf.tensorData(gguf.tensor("q4")))).isEqualTo(TensorCodec.quantize(GgmlType.Q4_0, q4));
      assertThat(gguf.tensorData(gguf.tensor("f32")).order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
    }
  }

  @Test
  void typedGetters_convertWithoutLoss_andNameTheKeyOnMismatch() throws IOException {
    GgufMetadata m = everyType(32);
    assertThat(m.getInt("u16")).isEqualTo(65535);
    assertThat(m.getLong("u32")).isEqualTo(4_294_967_295L);
    assertThat(m.getFloat("f64")).isEqualTo((float) Math.PI);
    assertThat(m.getString("string")).isEqualTo("héllo, 世界 🤖\n");
    assertThat(m.getIntArray("u8s")).containsExactly(0, 200);
    assertThat(m.getStringArray("strings")).containsExactly("a", "", "ünïcödé");
    assertThat(m.get("nested").elements().get(1).asIntArray()).containsExactly(9);
    assertThat(m.findInt("absent")).isEmpty();

    assertThatThrownBy(() -> m.getInt("llama.block_count")).hasMessage("key llama.block_count missing");
    assertThatThrownBy(() -> m.getInt("string")).hasMessage("key string has type STRING, expected an integer");
    assertThatThrownBy(() -> m.getInt("u32")).hasMessageContaining("key u32").hasMessageContaining("does not fit in an int");
    assertThatThrownBy(() -> m.getLong("u64")).hasMessageContaining("key u64").hasMessageContaining("18446744073709551615");
    assertThatThrownBy(() -> m.getStringArray("i32s")).hasMessage("key i32s has type ARRAY of INT32, expected ARRAY of STRING");
    assertThatThrownBy(() -> m.getIntArray("u32s")).hasMessageContaining("key u32s").hasMessageContaining("4294967295");
    assertThatThrownBy(() -> m.getFloat("bool")).hasMessage("key bool has type BOOL, expected FLOAT32");
  }

  @Test
  void writeTensorPart_inBlockParts_equalsWholeWrite() throws IOException {
    float[] values = randomValues(32 * 10, 6);
    Path whole = dir.resolve("whole.gguf");
    Path parts = dir.resolve("parts.gguf");
    try (GgufWriter w = GgufWriter.builder().tensor("t", GgmlType.Q4_0, 32, 10).open(whole)) {
      w.writeTensor("t", values);
    }
    try (GgufWriter w = GgufWriter.builder().tensor("t", GgmlType.Q4_0, 32, 10).open(parts)) {
      w.writeTensorPart("t", values, 0, 96);
      w.writeTensorPart("t", values, 96, 224);
    }
    assertThat(Files.readAllBytes(parts)).isEqualTo(Files.readAllBytes(whole));
  }

  @Test
  void writer_outOfOrderOrMissingTensor_failsNamingIt() throws IOException {
    GgufWriter.Builder b = GgufWriter.builder().tensor("a", GgmlType.F32, 4).tensor("b", GgmlType.F32, 4);
    GgufWriter w = b.open(dir.resolve("x.gguf"));
    assertThatThrownBy(() -> w.writeTensor("b", new float[4]))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("tensors must be written in declaration order: expected a, got b");
    w.writeTensor("a", new float[4]);
    assertThatThrownBy(w::close).isInstanceOf(IllegalStateException.class).hasMessageContaining("tensor b was declared but not fully written");
    assertThatThrownBy(() -> GgufWriter.builder().tensor("a", GgmlType.F32, 1).tensor("a", GgmlType.F32, 1))
        .hasMessage("tensor a declared twice");
    assertThatThrownBy(() -> GgufWriter.builder().tensor("q", GgmlType.Q8_0, 16))
        .hasMessageContaining("not a multiple of the Q8_0 block size 32");
  }

  @Test
  void open_fileLargerThan2GiB_readsTensorsPastTheFirstMapping() throws IOException {
    // One 2.5 GiB tensor (left sparse on disk), then a small one whose data lies past 2^31.
    long big = 5L << 28; // 1.25 G F16 values = 2.5 GiB
    GgufBytes header = GgufBytes.header(2, 0)
        .tensorInfo("big", GgmlType.F16.id(), 0, big)
        .tensorInfo("tail", GgmlType.F32.id(), 2 * big, 8)
        .pad(32);
    long dataOffset = header.size();
    Path file = header.writeTo(dir.resolve("large.gguf"));
    float[] tail = {1, 2, 3, 4, 5, 6, 7, -8};
    try (var ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(TensorCodec.quantize(GgmlType.F32, tail)), dataOffset + 2 * big);
    }

    try (GgufFile gguf = GgufFile.open(file)) {
      assertThat(gguf.fileSize()).isGreaterThan(1L << 31);
      assertThat(gguf.dequantize("tail")).containsExactly(tail);
      GgufTensorInfo bigInfo = gguf.tensor("big");
      assertThatThrownBy(() -> gguf.tensorData(bigInfo)).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("big");
      ByteBuffer lastBytes = gguf.tensorData(bigInfo, 2 * big - 16, 16);
      assertThat(lastBytes.remaining()).isEqualTo(16);
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
