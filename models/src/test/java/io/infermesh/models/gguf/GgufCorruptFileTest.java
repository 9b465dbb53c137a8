package io.infermesh.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufCorruptFileTest {
  @TempDir Path dir;

  private Path write(String name, byte[] bytes) throws IOException {
    return Files.write(dir.resolve(name), bytes);
  }

  /** A valid file: one key, one F32 tensor of 4 values. */
  private byte[] valid() {
    return GgufBytes.header(1, 1)
        .string("general.name").u32(GgufValueType.STRING.id()).string("ok")
        .tensorInfo("t", GgmlType.F32.id(), 0, 4)
        .pad(32)
        .f32(1).f32(2).f32(3).f32(4)
        .toByteArray();
  }

  @Test
  void open_validHandWrittenFile_succeeds() throws IOException {
    try (GgufFile f = GgufFile.open(write("ok.gguf", valid()))) {
      assertThat(f.metadata().getString("general.name")).isEqualTo("ok");
      assertThat(f.dequantize("t")).containsExactly(1, 2, 3, 4);
    }
  }

  @Test
  void open_badMagic_saysNotGguf() throws IOException {
    byte[] b = valid();
    b[0] = 'X';
    Path p = write("magic.gguf", b);
    assertThatThrownBy(() -> GgufFile.open(p))
        .isInstanceOf(GgufFormatException.class)
        .hasMessageContaining("not a GGUF file")
        .hasMessageContaining(p.toString())
        .hasMessageContaining("0x58475546");
  }

  @Test
  void open_emptyFile_saysTruncatedReadingMagic() throws IOException {
    Path p = write("empty.gguf", new byte[0]);
    assertThatThrownBy(() -> GgufFile.open(p))
        .isInstanceOf(GgufFormatException.class)
        .hasMessageContaining("truncated GGUF file")
        .hasMessageContaining("reading magic at offset 0 needs 4 bytes, but the file ends at 0");
  }

  @Test
  void open_unsupportedVersions_nameTheVersion() throws IOException {
    for (long version : new long[] {1, 4}) {
      byte[] b = new GgufBytes().raw("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(version).u64(0).u64(0).toByteArray();
      Path p = write("v" + version + ".gguf", b);
      assertThatThrownBy(() -> GgufFile.open(p))
          .isInstanceOf(GgufFormatException.class)
          .hasMessageContaining("unsupported GGUF version " + version)
          .hasMessageContaining("supported: 2, 3");
    }
    byte[] bigEndian = new GgufBytes().raw("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(0x0300_0000L).toByteArray();
    Path p = write("be.gguf", bigEndian);
    assertThatThrownBy(() -> GgufFile.open(p)).hasMessageContaining("big-endian");
  }

  @Test
  void open_truncatedAnywhereInTheHeader_namesWhatAndWhere() throws IOException {
    byte[] full = valid();
    // cut inside: tensor count, key length, key bytes, value, tensor name, dims, type, offset
    int[] cuts = {10, 30, 40, 52, 60, 70, 80, 90};
    for (int cut : cuts) {
      Path p = write("cut" + cut + ".gguf", Arrays.copyOf(full, cut));
      assertThatThrownBy(() -> GgufFile.open(p))
          .as("cut at %d", cut)
          .isInstanceOf(GgufFormatException.class)
          .hasMessageContaining("truncated GGUF file " + p)
          .hasMessageMatching("(?s).*reading .+ at offset \\d+ needs \\d+ bytes, but the file ends at " + cut + ".*");
    }
    Path p = write("cut40.gguf", Arrays.copyOf(full, 40));
    assertThatThrownBy(() -> GgufFile.open(p)).hasMessageContaining("reading key of metadata entry 0");
    Path q = write("cut52.gguf", Arrays.copyOf(full, 52));
    assertThatThrownBy(() -> GgufFile.open(q)).hasMessageContaining("value of key general.name");
  }

  @Test
  void open_tensorDataPastEndOfFile_namesTheTensor() throws IOException {
    byte[] full = valid();
    Path p = write("short-data.gguf", Arrays.copyOf(full, full.length - 1));
    assertThatThrownBy(() -> GgufFile.open(p))
        .isInstanceOf(GgufFormatException.class)
        .hasMessageContaining("data of tensor t (16 bytes at file offset")
        .hasMessageContaining("ends past the end of the file at " + (full.length - 1));
  }

  @Test
  void open_unknownGgmlType_namesTensorAndId() throws IOException {
    byte[] b = GgufBytes.header(1, 0).tensorInfo("w", 99, 0, 32).pad(32).raw(new byte[128]).toByteArray();
    Path p = write("type.gguf", b);
    assertThatThrownBy(() -> GgufFile.open(p))
        .isInstanceOf(GgufFormatException.class)
        .hasMessageContaining("tensor w has unknown ggml type id 99");
  }

  @Test
  void dequantize_knownButUnsupportedType_namesIt() throws IOException {
    byte[] b = GgufBytes.header(1, 0).tensorInfo("w", GgmlType.Q4_K.id(), 0, 256).pad(32).raw(new byte[144]).toByteArray();
    try (GgufFile f = GgufFile.open(write("q4k.gguf", b))) {
      assertThat(f.tensor("w").byteSize()).isEqualTo(144);
      assertThatThrownBy(() -> f.dequantize("w"))
          .isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("tensor w has ggml type Q4_K (12), which cannot be dequantized");
    }
  }

  @Test
  void open_misalignedTensorOffset_saysSo() throws IOException {
    byte[] b = GgufBytes.header(1, 0).tensorInfo("w", GgmlType.F32.id(), 4, 4).pad(32).raw(new byte[64]).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("align.gguf", b)))
        .isInstanceOf(GgufFormatException.class)
        .hasMessageContaining("tensor w has data offset 4, not a multiple of the alignment 32");
  }

  @Test
  void open_alignmentNotAPowerOfTwo_namesTheKey() throws IOException {
    byte[] b = GgufBytes.header(0, 1).kvU32("general.alignment", 48).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("align48.gguf", b)))
        .isInstanceOf(GgufFormatException.class)
        .hasMessageContaining("key general.alignment is 48, expected a positive power of two");
  }

  @Test
  void open_unknownValueTypeOrDuplicateKey_isCorrupt() throws IOException {
    byte[] badType = GgufBytes.header(0, 1).string("k").u32(13).u32(0).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("vt.gguf", badType)))
        .hasMessageContaining("key k has unknown value type id 13");
    byte[] dup = GgufBytes.header(0, 2).kvU32("k", 1).kvU32("k", 2).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("dup.gguf", dup))).hasMessageContaining("duplicate key k");
  }

  @Test
  void open_hugeCountsOrTooManyDimensions_failWithoutAllocating() throws IOException {
    byte[] hugeString = GgufBytes.header(0, 1).string("k").u32(GgufValueType.STRING.id()).u64(1L << 40).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("hs.gguf", hugeString)))
        .hasMessageContaining("value of key k (a string of 1099511627776 bytes)");
    byte[] hugeArray = GgufBytes.header(0, 1).string("k").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.INT32.id()).u64(1L << 40).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("ha.gguf", hugeArray))).hasMessageContaining("truncated");
    byte[] dims = GgufBytes.header(1, 0).string("t").u32(5).toByteArray();
    assertThatThrownBy(() -> GgufFile.open(write("dims.gguf", dims))).hasMessageContaining("tensor t has 5 dimensions");
  }
}
