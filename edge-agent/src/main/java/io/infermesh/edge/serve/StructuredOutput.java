package io.infermesh.edge.serve;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.models.grammar.Gbnf;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.grammar.JsonSchemaGrammar;
import io.infermesh.models.grammar.SchemaException;
import io.infermesh.models.grammar.ToolCallGrammar;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The form a request's answer must take: free text, any JSON object, JSON valid against a schema,
 * or tool calls. Compiled when built (an unsupported schema fails then, naming the field and the
 * keyword), so both tiers get a request already known to be answerable. Immutable.
 *
 * @param format what the answer is
 * @param schemaJson the schema as compact JSON text ({@link Format#JSON_SCHEMA} only; empty otherwise)
 * @param tools the tools, for {@link Format#TOOL_CALLS}; empty otherwise
 * @param grammar the compiled grammar; empty for {@link Format#TEXT}
 */
public record StructuredOutput(Format format, String schemaJson, Optional<Tools> tools, Optional<Grammar> grammar) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Free text. */
  public static final StructuredOutput TEXT = new StructuredOutput(Format.TEXT, "", Optional.empty(), Optional.empty());

  /** What the answer is. */
  public enum Format { TEXT, JSON_OBJECT, JSON_SCHEMA, TOOL_CALLS }

  /**
   * Callable functions and how they may be used.
   *
   * @param functions name and parameters schema (JSON text, empty for none) of each
   * @param choice {@code auto}, {@code required}, or the one function's name
   * @param parallel whether the answer may hold more than one call
   */
  public record Tools(List<Function> functions, String choice, boolean parallel) {
    public Tools {
      functions = List.copyOf(functions);
      requireNonNull(choice, "choice");
    }
  }

  /** One function: its name and its parameters' JSON schema as text (empty when it takes none). */
  public record Function(String name, String parametersJson) {
    public Function {
      requireNonNull(name, "name");
      requireNonNull(parametersJson, "parametersJson");
    }
  }

  public StructuredOutput {
    requireNonNull(format, "format");
    requireNonNull(schemaJson, "schemaJson");
    requireNonNull(tools, "tools");
    requireNonNull(grammar, "grammar");
  }

  /** Any JSON object ({@code response_format: {"type": "json_object"}}). */
  public static StructuredOutput jsonObject() {
    return new StructuredOutput(Format.JSON_OBJECT, "", Optional.empty(), Optional.of(JsonSchemaGrammar.anyObject()));
  }

  /**
   * JSON valid against {@code schema}; {@code field} names it in errors.
   *
   * @throws EdgeException (400) naming {@code field} and the unsupported keyword
   */
  public static StructuredOutput jsonSchema(JsonNode schema, String field) {
    try {
      return new StructuredOutput(Format.JSON_SCHEMA, JSON.writeValueAsString(schema), Optional.empty(),
          Optional.of(JsonSchemaGrammar.of(schema)));
    } catch (SchemaException e) {
      throw EdgeException.invalid(field, field + ": " + e.getMessage());
    } catch (IOException e) {
      throw EdgeException.invalid(field, field + ": not valid JSON");
    }
  }

  /** {@link #jsonSchema(JsonNode, String)} for schema text. */
  public static StructuredOutput jsonSchema(String schemaJson, String field) {
    try {
      return jsonSchema(JSON.readTree(schemaJson), field);
    } catch (IOException e) {
      throw EdgeException.invalid(field, field + ": not valid JSON");
    }
  }

  /**
   * Tool calls; {@code choice} {@code auto}, {@code required} or a function's name.
   *
   * @throws EdgeException (400) naming {@code tools[i].function.parameters…} for an unsupported schema
   */
  public static StructuredOutput tools(Tools tools) {
    List<ToolCallGrammar.Function> functions = new ArrayList<>();
    for (int i = 0; i < tools.functions().size(); i++) {
      Function f = tools.functions().get(i);
      try {
        functions.add(new ToolCallGrammar.Function(f.name(), f.parametersJson().isEmpty() ? JSON.createObjectNode()
            : JSON.readTree(f.parametersJson())));
      } catch (IOException e) {
        throw EdgeException.invalid("tools", "tools[" + i + "].function.parameters: not valid JSON");
      }
    }
    boolean named = !tools.choice().equals("auto") && !tools.choice().equals("required");
    if (named && tools.functions().stream().noneMatch(f -> f.name().equals(tools.choice()))) {
      throw EdgeException.invalid("tool_choice", "tool_choice: no tool named '" + tools.choice() + "' in tools");
    }
    try {
      Grammar g = ToolCallGrammar.of(functions,
          tools.choice().equals("auto") ? ToolCallGrammar.Mode.AUTO : ToolCallGrammar.Mode.REQUIRED,
          named ? Optional.of(tools.choice()) : Optional.empty(), tools.parallel());
      return new StructuredOutput(Format.TOOL_CALLS, "", Optional.of(tools), Optional.of(g));
    } catch (SchemaException e) {
      throw EdgeException.invalid("tools", e.getMessage());
    }
  }

  /** Whether the answer is free text. */
  public boolean isText() {
    return format == Format.TEXT;
  }

  /** The grammar as llama.cpp GBNF; empty for free text. */
  public Optional<String> gbnf() {
    return grammar.map(Gbnf::write);
  }
}
