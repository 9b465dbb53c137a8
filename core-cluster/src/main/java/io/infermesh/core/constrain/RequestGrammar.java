package io.infermesh.core.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermesh.api.v1.FunctionTool;
import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.api.v1.ResponseFormat;
import io.infermesh.api.v1.ToolCalling;
import io.infermesh.core.status.CoreException;
import io.infermesh.models.grammar.Grammar;
import io.infermesh.models.grammar.JsonSchemaGrammar;
import io.infermesh.models.grammar.SchemaException;
import io.infermesh.models.grammar.ToolCallGrammar;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The grammar a {@link GenerateRequest} asks for ({@code response_format} or {@code
 * tool_calling}), if any. Errors name
 * the field ({@code response_format.json_schema: properties.x.minLength: …}): {@link CoreException}s of
 * kind INVALID_ARGUMENT. Stateless.
 */
public final class RequestGrammar {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RequestGrammar() {}

  /** The grammar of {@code request}'s answer; empty for free text. */
  public static Optional<Grammar> of(GenerateRequest request) {
    if (request.hasResponseFormat() && request.hasToolCalling()) {
      throw CoreException.invalidArgument("response_format", "cannot be combined with tool_calling");
    }
    if (request.hasResponseFormat()) {
      ResponseFormat f = request.getResponseFormat();
      switch (f.getFormatCase()) {
        case JSON_OBJECT -> {
          return Optional.of(JsonSchemaGrammar.anyObject());
        }
        case JSON_SCHEMA -> {
          try {
            return Optional.of(JsonSchemaGrammar.of(f.getJsonSchema()));
          } catch (SchemaException e) {
            throw CoreException.invalidArgument("response_format.json_schema", e.getMessage());
          }
        }
        default -> throw CoreException.invalidArgument("response_format", "set json_object or json_schema");
      }
    }
    if (request.hasToolCalling()) {
      return Optional.of(tools(request.getToolCalling()));
    }
    return Optional.empty();
  }

  private static Grammar tools(ToolCalling t) {
    if (t.getFunctionsCount() == 0) {
      throw CoreException.invalidArgument("tool_calling.functions", "at least one function is needed");
    }
    List<ToolCallGrammar.Function> functions = new ArrayList<>();
    for (int i = 0; i < t.getFunctionsCount(); i++) {
      FunctionTool f = t.getFunctions(i);
      if (f.getName().isEmpty()) {
        throw CoreException.invalidArgument("tool_calling.functions[" + i + "].name", "must not be empty");
      }
      JsonNode params;
      try {
        params = f.getParametersJson().isEmpty() ? JSON.createObjectNode() : JSON.readTree(f.getParametersJson());
      } catch (IOException e) {
        throw CoreException.invalidArgument("tool_calling.functions[" + i + "].parameters_json", "not valid JSON");
      }
      functions.add(new ToolCallGrammar.Function(f.getName(), params));
    }
    String choice = t.getChoice().isEmpty() ? "auto" : t.getChoice();
    ToolCallGrammar.Mode mode = choice.equals("auto") ? ToolCallGrammar.Mode.AUTO : ToolCallGrammar.Mode.REQUIRED;
    Optional<String> only = choice.equals("auto") || choice.equals("required") ? Optional.empty() : Optional.of(choice);
    if (only.isPresent() && functions.stream().noneMatch(f -> f.name().equals(only.get()))) {
      throw CoreException.invalidArgument("tool_calling.choice", "no function named '" + choice + "'");
    }
    try {
      return ToolCallGrammar.of(functions, mode, only, t.getParallel());
    } catch (SchemaException e) {
      throw CoreException.invalidArgument("tool_calling", e.getMessage().replace("tools[", "functions["));
    }
  }
}
