package io.infermesh.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.tiny.TinyModelFixture;
import io.infermesh.models.tiny.TinyModelSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {
  static final Tokenizer BPE = TinyModelFixture.tokenizer(TinyModelSpec.edge(GgmlType.F32));
  static final Tokenizer SPM = TinyModelFixture.tokenizer(TinyModelSpec.spm(GgmlType.F32));

  private static List<String> stream(Tokenizer t, int[] ids) {
    StreamingDecoder d = t.newStreamingDecoder(false);
    List<String> out = new ArrayList<>();
    for (int id : ids) out.add(d.accept(id));
    out.add(d.flush());
    return out;
  }

  @Test
  void accept_emojiSpreadOverByteTokens_emitsItOnlyWhenComplete() {
    for (Tokenizer t : List.of(BPE, SPM)) {
      int[] ids = t.encode("ok 🤖!");
      List<String> out = stream(t, ids);
      assertThat(String.join("", out)).as(t.toString()).isEqualTo(t == SPM ? " ok 🤖!" : "ok 🤖!");
      assertThat(out).as(t.toString()).noneMatch(s -> s.contains("\uFFFD"));
      assertThat(out).as(t.toString()).contains("🤖"); // emitted whole, by the token with its last byte
    }
  }

  @Test
  void accept_multilingualText_concatenatesToTheText() {
    String text = "café ß Ελληνικά 中文 русский 👍🏽";
    assertThat(String.join("", stream(BPE, BPE.encode(text)))).isEqualTo(text);
  }

  @Test
  void accept_bytesThatCanNeverBeCharacters_areReplacedAtOnce() {
    int lead = SPM.tokenId("<0xE4>").orElseThrow();
    int ascii = SPM.tokenId("<0x41>").orElseThrow();
    int stray = SPM.tokenId("<0xBF>").orElseThrow();
    StreamingDecoder d = SPM.newStreamingDecoder(false);
    assertThat(d.accept(stray)).isEqualTo("\uFFFD");
    assertThat(d.accept(lead)).isEmpty();
    assertThat(d.hasPending()).isTrue();
    assertThat(d.accept(ascii)).isEqualTo("\uFFFDA"); // the lead byte was not continued
    assertThat(d.accept(lead)).isEmpty();
    assertThat(d.flush()).isEqualTo("\uFFFD");
    assertThat(d.hasPending()).isFalse();
  }

  @Test
  void accept_controlTokens_renderOnlyWhenAsked() {
    int imEnd = BPE.tokenId("<|im_end|>").orElseThrow();
    assertThat(BPE.newStreamingDecoder(false).accept(imEnd)).isEmpty();
    assertThat(BPE.newStreamingDecoder(true).accept(imEnd)).isEqualTo("<|im_end|>");
    assertThatThrownBy(() -> BPE.newStreamingDecoder(false).accept(512))
        .hasMessage("token id 512 is outside the vocabulary (size 512)");
  }

  @Test
  void completePrefix_holdsBackOnlyValidUnfinishedSequences() {
    byte[] threeOfFour = {'a', (byte) 0xF0, (byte) 0x9F, (byte) 0xA4};
    assertThat(StreamingDecoder.completePrefix(threeOfFour)).isEqualTo(1);
    byte[] overlong = {'a', (byte) 0xE0, (byte) 0x80};
    assertThat(StreamingDecoder.completePrefix(overlong)).isEqualTo(3);
    byte[] complete = {(byte) 0xC3, (byte) 0xA9};
    assertThat(StreamingDecoder.completePrefix(complete)).isEqualTo(2);
  }
}
