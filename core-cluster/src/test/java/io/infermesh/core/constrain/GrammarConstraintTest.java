package io.infermesh.core.constrain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.core.engine.TokenConstraint;
import io.infermesh.models.chat.ToolCalls;
import io.infermesh.models.gguf.GgmlType;
import io.infermesh.models.gguf.GgufFile;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.grammar.JsonSchemaGrammar;
import io.infermesh.models.grammar.ToolCallGrammar;
import io.infermesh.models.tiny.TinyModelSpec;
import io.infermesh.models.tiny.TinyModels;
import io.infermesh.models.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property tests of the token mask over the tiny models' real 512-token BPE vocabulary: random
 * walks (seeded random logits, the mask applied, the best allowed token taken) must end in text
 * that parses and validates, within max_tokens.
 */
class GrammarConstraintTest {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  static final String FIVE_FIELDS = """
      {"type":"object","properties":{
        "name":{"type":"string"},
        "age":{"type":"integer"},
        "score":{"type":"number"},
        "tags":{"type":"array","items":{"type":"string","enum":["a","b","c d"]}},
        "address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},
                   "required":["city","zip"],"additionalProperties":false}},
       "required":["name","age","score","tags","address"],"additionalProperties":false}""";
  private static final String[] SCHEMAS = {
      FIVE_FIELDS,
      """
      {"type":"object","properties":{"a":{"type":"boolean"},"b":{"const":"x\\"y"},"c":{"type":"null"},
       "d":{"anyOf":[{"type":"integer"},{"type":"array","items":{"type":"number"}}]}},"required":["b"]}""",
      """
      {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
         "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}},
       "$ref":"#/$defs/node"}""",
      """
      {"type":"array","items":{"enum":[1,"two",null,true,{"k":[]}]}}""",
      """
      {"type":"object","properties":{"only":{"type":"string"}}}""",
  };
  private static Tokenizer tokenizer;
  private static Constraints constraints;

  @BeforeAll
  static void load() throws Exception {
    Path dir = Files.createTempDirectory("constrain");
    Path file = TinyModels.write(TinyModelSpec.core(GgmlType.F32), dir);
    try (GgufFile gguf = GgufFile.open(file)) {
      tokenizer = Tokenizer.fromGguf(gguf.metadata());
    }
    constraints = Constraints.of(tokenizer);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 4})
  void mask_randomWalks_alwaysEndInValidJsonWithinMaxTokens(int schemaIndex) throws Exception {
    JsonNode schema = JSON.readTree(SCHEMAS[schemaIndex]);
    Grammar grammar = JsonSchemaGrammar.of(schema);
    SchemaValidator validator = new SchemaValidator(schema);
    SplittableRandom random = new SplittableRandom(42 + schemaIndex);
    for (int walk = 0; walk < 40; walk++) {
      int maxTokens = 80 + random.nextInt(200); // the five-field schema needs at least 72 bytes
      Walk w = walk(constraints.factory(grammar, maxTokens), maxTokens, random);
      assertThat(w.ended).as("walk %d ended by an end token within %d tokens: %s", walk, maxTokens, w.text).isTrue();
      JsonNode value = JSON.readTree(w.text);
      assertThat(validator.valid(value)).as("walk %d: %s", walk, w.text).isTrue();
    }
  }

  @Test
  void mask_jsonObjectMode_alwaysEndsInAnObject() throws Exception {
    SplittableRandom random = new SplittableRandom(7);
    for (int walk = 0; walk < 40; walk++) {
      Walk w = walk(constraints.factory(JsonSchemaGrammar.anyObject(), 120), 120, random);
      assertThat(w.ended).as(w.text).isTrue();
      assertThat(JSON.readTree(w.text).isObject()).as(w.text).isTrue();
    }
  }

  @Test
  void mask_toolsAuto_answerIsTextOrValidCalls() throws Exception {
    JsonNode params = JSON.readTree("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
        + "\"required\":[\"city\"]}");
    Grammar grammar = ToolCallGrammar.of(List.of(new ToolCallGrammar.Function("weather", params)),
        ToolCallGrammar.Mode.AUTO, Optional.empty(), true);
    SplittableRandom random = new SplittableRandom(3);
    int calls = 0;
    for (int walk = 0; walk < 60; walk++) {
      Walk w = walk(constraints.factory(grammar, 100), 100, random, walk % 2 == 0);
      if (w.text.startsWith("<")) {
        assertThat(w.ended).as(w.text).isTrue();
        List<ToolCalls.Call> parsed = ToolCalls.parse(w.text).orElseThrow(() -> new AssertionError(w.text));
        for (ToolCalls.Call c : parsed) {
          assertThat(new SchemaValidator(params).valid(JSON.readTree(c.arguments()))).as(w.text).isTrue();
        }
        calls++;
      }
    }
    assertThat(calls).as("some walks called the tool").isPositive();
  }

  @Test
  void mask_budgetTooSmallForTheSchema_isCutOffWithoutEnding() throws Exception {
    Walk w = walk(constraints.factory(JsonSchemaGrammar.of(FIVE_FIELDS), 10), 10, new SplittableRandom(1));
    assertThat(w.ended).isFalse();
    assertThat(w.text).startsWith("{\"name\":");
  }

  @Test
  void compile_sameSchemaTwice_compiledOnce() {
    assertThat(constraints.compile(JsonSchemaGrammar.of(FIVE_FIELDS)))
        .isSameAs(constraints.compile(JsonSchemaGrammar.of(FIVE_FIELDS)));
  }

  @Test
  void advance_textTheSchemaRefuses_isRefusedAtTheFirstBadByte() {
    ByteGrammar g = ByteGrammar.compile(JsonSchemaGrammar.of(FIVE_FIELDS));
    String good = "{\"name\":\"x\",\"age\":-0,\"score\":1.5e+3,\"tags\":[\"c d\"],\"address\":{\"city\":\"\",\"zip\":null}}";
    MatchState s = g.advance(g.initial(), good.getBytes(StandardCharsets.UTF_8));
    assertThat(s).isNotNull();
    assertThat(s.accepting).isTrue();
    assertThat(s.complete()).isTrue();
    assertThat(g.advance(g.initial(), "{\"age\":1".getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(g.advance(g.initial(), "{\"name\":\"x\",\"age\":01".getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(g.advance(g.initial(), "{\"name\":\"x\",\"age\":1.5".getBytes(StandardCharsets.UTF_8))).isNull();
  }

  @Test
  void distance_partialObject_isTheShortestCompletion() {
    ByteGrammar g = ByteGrammar.compile(JsonSchemaGrammar.of(
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"]}"));
    assertThat(g.initial().distance()).isEqualTo("{\"a\":\"\"}".length());
    assertThat(g.advance(g.initial(), "{\"a\":\"xyz".getBytes(StandardCharsets.UTF_8)).distance()).isEqualTo(2);
  }

  @Test
  void advance_multiByteCharacterInAString_isAccepted() {
    ByteGrammar g = ByteGrammar.compile(JsonSchemaGrammar.of("{\"type\":\"string\"}"));
    MatchState s = g.advance(g.initial(), "\"héllo €😀\"".getBytes(StandardCharsets.UTF_8));
    assertThat(s).isNotNull();
    assertThat(s.accepting).isTrue();
  }

  /** Samples greedily from seeded random logits under the constraint until an end token or max tokens. */
  private static Walk walk(TokenConstraint.Factory factory, int maxTokens, SplittableRandom random) {
    return walk(factory, maxTokens, random, false);
  }

  /** {@code preferTag}: the first token favours pieces starting with {@code <} (as a model about to call a tool). */
  private static Walk walk(TokenConstraint.Factory factory, int maxTokens, SplittableRandom random, boolean preferTag) {
    TokenConstraint c = factory.create();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    float[] row = new float[tokenizer.vocabularySize()];
    for (int i = 0; i < maxTokens; i++) {
      for (int t = 0; t < row.length; t++) {
        row[t] = (float) random.nextGaussian();
        if (preferTag && i == 0 && tokenizer.piece(t, false).length > 0 && tokenizer.piece(t, false)[0] == '<') {
          row[t] += 10f;
        }
      }
      c.mask(row);
      int best = 0;
      for (int t = 1; t < row.length; t++) {
        if (row[t] > row[best]) {
          best = t;
        }
      }
      assertThat(row[best]).as("some token is allowed after %s", out).isGreaterThan(Float.NEGATIVE_INFINITY);
      c.accept(best);
      if (tokenizer.isEndOfGeneration(best)) {
        return new Walk(out.toString(StandardCharsets.UTF_8), true);
      }
      out.writeBytes(tokenizer.piece(best, false));
    }
    return new Walk(out.toString(StandardCharsets.UTF_8), false);
  }

  private record Walk(String text, boolean ended) {}

}
