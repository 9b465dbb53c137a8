package io.infermesh.edge.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ResidentMemoryTest {
  private static final long MIB = 1 << 20;

  @Test
  void parse_readsVmRssInBytes() {
    List<String> status = List.of("Name:\tjava", "VmHWM:\t  900000 kB", "VmRSS:\t  827424 kB", "Threads:\t23");

    assertThat(ResidentMemory.parse(status)).hasValue(827_424L * 1024);
  }

  @Test
  void parse_withoutAUsableLine_isEmpty() {
    assertThat(ResidentMemory.parse(List.of("Name:\tjava"))).isEmpty();
    assertThat(ResidentMemory.parse(List.of("VmRSS:\t  lots kB"))).isEmpty();
    assertThat(ResidentMemory.parse(List.of("VmRSS:\t  12 pages"))).isEmpty();
  }

  @Test
  void bytes_onLinux_isThisProcessResidentSet() {
    assertThat(System.getProperty("os.name")).as("the edge's supported platform for this check").isEqualTo("Linux");

    OptionalLong resident = ResidentMemory.bytes();

    assertThat(resident).isPresent();
    assertThat(resident.getAsLong()).isGreaterThan(MIB);
  }

  @Test
  void unload_thatGaveBackTheModel_isInformational() {
    ResidentMemory.Unload unload = ResidentMemory.unload("m", 400 * MIB, OptionalLong.of(1000 * MIB),
        OptionalLong.of(560 * MIB));

    assertThat(unload.warning()).isFalse();
    assertThat(unload.message()).isEqualTo("unloaded model m: 440 MiB freed");
  }

  @Test
  void unload_thatKeptTheModelResident_warnsWithTheFiguresAndTheFix() {
    ResidentMemory.Unload unload = ResidentMemory.unload("m", 400 * MIB, OptionalLong.of(1000 * MIB),
        OptionalLong.of(1010 * MIB));

    assertThat(unload.warning()).isTrue();
    assertThat(unload.message()).contains("only 0 MiB of its 400 MiB were freed", "1000 MiB before, 1010 MiB after",
        "kherud/java-llama.cpp#102", "build-binding.sh");
  }

  @Test
  void unload_withoutMeasurements_saysOnlyWhatHappened() {
    assertThat(ResidentMemory.unload("m", 400 * MIB, OptionalLong.empty(), OptionalLong.of(1))).isEqualTo(
        new ResidentMemory.Unload(false, "unloaded model m"));
  }
}
