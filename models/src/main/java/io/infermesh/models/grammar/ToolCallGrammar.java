package io.infermesh.models.grammar;

import static io.infermesh.models.grammar.Grammar.lit;
import static io.infermesh.models.grammar.Grammar.seq;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermesh.models.chat.ToolCalls;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The grammar of an answer that calls tools, in the {@link ToolCalls} format: {@code
 * <tool_call>\n{"name":"f","arguments":{…}}\n</tool_call>}, one block per call, blocks separated by
 * a newline, {@code arguments} valid against the function's {@code parameters} schema.
 *
 * <p>{@code required} and a named function constrain the whole answer to calls (one, or one or
 * more when parallel calls are allowed). {@code auto} lets the answer be either calls or free text
 * that does not start with {@code <} (so a call can't be half-written as text); {@code none} has
 * no grammar. Stateless; thread-safe.
 */
public final class ToolCallGrammar {
  /** What the model may or must do with the tools. */
  public enum Mode { AUTO, REQUIRED }

  /** One function the model may call; {@code parameters} is its JSON schema (an empty object schema if absent). */
  public record Function(String name, JsonNode parameters) {
    public Function {
      requireNonNull(name, "name");
      requireNonNull(parameters, "parameters");
    }
  }

  private ToolCallGrammar() {}

  /**
   * The grammar for calling one of {@code functions} ({@code only}: the one function that must be
   * called, e.g. from {@code tool_choice: {"type":"function",…}}).
   *
   * @throws SchemaException naming {@code tools[i].function.parameters.…} for an unsupported schema
   */
  public static Grammar of(List<Function> functions, Mode mode, Optional<String> only, boolean parallel) {
    if (functions.isEmpty()) {
      throw new IllegalArgumentException("at least one function is needed");
    }
    Grammar.Builder b = Grammar.builder();
    String root = b.reserve("root");
    List<List<Grammar.Symbol>> calls = new ArrayList<>();
    for (int i = 0; i < functions.size(); i++) {
      Function f = functions.get(i);
      if (only.isPresent() && !only.get().equals(f.name())) {
        continue;
      }
      JsonNode params = f.parameters();
      Grammar.Ref args;
      try {
        args = params.isNull() || params.isEmpty() && params.isObject() ? emptyObject(b)
            : new JsonRules(b, params).value(params, "");
      } catch (SchemaException e) {
        throw new SchemaException("tools[" + i + "].function.parameters" + (e.path().isEmpty() ? "" : "." + e.path()),
            e.getMessage().substring(e.path().isEmpty() ? 0 : e.path().length() + 2));
      }
      calls.add(seq(lit(ToolCalls.OPEN + "{\"name\":" + JsonRules.json(
          com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.textNode(f.name())) + ",\"arguments\":"), args,
          lit("}" + ToolCalls.CLOSE)));
    }
    if (calls.isEmpty()) {
      throw new IllegalArgumentException("no function named " + only.orElse(""));
    }
    Grammar.Ref call = b.rule("call", calls);
    Grammar.Ref all = call;
    if (parallel) {
      Grammar.Ref more = new Grammar.Ref(b.reserve("more-calls"));
      b.define(more.rule(), List.of(seq(lit("\n"), call, more), seq()));
      all = b.rule("calls", List.of(seq(call, more)));
    }
    if (mode == Mode.AUTO && only.isEmpty()) {
      Grammar.Ref any = new Grammar.Ref(b.reserve("text"));
      b.define(any.rule(), List.of(seq(new Grammar.CharClass(true, new int[0]), any), seq()));
      b.define(root, List.of(seq(all), seq(new Grammar.CharClass(true, new int[] {'<', '<'}), any), seq()));
    } else {
      b.define(root, List.of(seq(all)));
    }
    return b.build(root);
  }

  private static Grammar.Ref emptyObject(Grammar.Builder b) {
    return b.rule("no-arguments", List.of(seq(lit("{}"))));
  }
}
