package io.infermesh.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.models.chat.ToolCalls;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonSchemaGrammarTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"type\":\"string\",\"minLength\":1}                                  | minLength",
      "{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"x\"}}}        | properties.a.pattern",
      "{\"oneOf\":[{\"type\":\"string\"}]}                                     | oneOf",
      "{\"allOf\":[{\"type\":\"string\"}]}                                     | allOf",
      "{\"type\":\"array\",\"items\":{\"type\":\"number\",\"minimum\":0}}      | items.minimum",
      "{\"type\":\"object\",\"properties\":{},\"required\":[\"x\"]}            | required",
      "{\"$ref\":\"http://example.com/s.json\"}                                 | $ref",
      "{\"type\":\"date\"}                                                      | type",
  })
  void of_unsupportedOrMalformed_refusedNamingTheKeyword(String schema, String path) {
    assertThatThrownBy(() -> JsonSchemaGrammar.of(schema.strip()))
        .isInstanceOfSatisfying(SchemaException.class, e -> assertThat(e.path()).isEqualTo(path))
        .hasMessageStartingWith(path + ": ");
  }

  @Test
  void of_annotationsAndAdditionalProperties_accepted() {
    Grammar g = JsonSchemaGrammar.of("{\"title\":\"T\",\"description\":\"d\",\"type\":\"object\","
        + "\"properties\":{\"a\":{\"type\":\"string\",\"description\":\"x\",\"default\":\"\"}},"
        + "\"required\":[\"a\"],\"additionalProperties\":false,\"$schema\":\"https://json-schema.org/draft/2020-12/schema\"}");

    assertThat(Gbnf.write(g)).contains("kv-a ::= \"\\\"a\\\":\" string");
  }

  @Test
  void write_optionalPropertiesAndEmptyAlternatives_gbnfLlamaCppParses() {
    String gbnf = Gbnf.write(JsonSchemaGrammar.of("{\"type\":\"object\",\"properties\":{"
        + "\"a\":{\"type\":\"integer\"},\"b\":{\"type\":[\"number\",\"null\"]}}}"));

    assertThat(gbnf).startsWith("root ::= ");
    // an empty alternative is first on its line: llama.cpp would read the next line into it otherwise
    assertThat(gbnf.lines().filter(l -> l.endsWith("|"))).isEmpty();
    assertThat(gbnf).contains("[+\\x2D]").doesNotContain("\\-");
  }

  @Test
  void of_sameSchemaTwice_equalGrammars() {
    String schema = "{\"type\":\"array\",\"items\":{\"enum\":[1,\"a\",null]}}";
    assertThat(JsonSchemaGrammar.of(schema)).isEqualTo(JsonSchemaGrammar.of(schema));
  }

  @Test
  void toolCallGrammar_parametersWithUnsupportedKeyword_namesTheTool() {
    assertThatThrownBy(() -> ToolCallGrammar.of(List.of(
        new ToolCallGrammar.Function("ok", JsonSchemaGrammar.parse("{}")),
        new ToolCallGrammar.Function("f", JsonSchemaGrammar.parse("{\"type\":\"object\",\"properties\":"
            + "{\"n\":{\"type\":\"integer\",\"maximum\":3}}}"))), ToolCallGrammar.Mode.REQUIRED, Optional.empty(), false))
        .isInstanceOf(SchemaException.class)
        .hasMessageStartingWith("tools[1].function.parameters.properties.n.maximum: ");
  }

  @Test
  void parse_assistantText_roundTripsTheCalls() {
    List<ToolCalls.Call> calls = List.of(new ToolCalls.Call("a", "{\"x\":1}"), new ToolCalls.Call("b", "{}"));

    assertThat(ToolCalls.parse(ToolCalls.assistantText("", calls))).contains(calls);
    assertThat(ToolCalls.parse("hello")).isEmpty();
    assertThat(ToolCalls.parse(ToolCalls.OPEN + "{\"name\":\"a\"")).isEmpty();
  }
}
