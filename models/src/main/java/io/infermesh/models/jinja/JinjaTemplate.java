package io.infermesh.models.jinja;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Jinja2 template, parsed once and rendered many times, with the settings and filters Hugging
 * Face's {@code apply_chat_template} uses: {@code trim_blocks} and {@code lstrip_blocks} on, the
 * loop controls {@code break}/{@code continue}, {@code tojson} as Python's {@code json.dumps} (no
 * HTML escaping), Python's string, list and dict methods, and {@code namespace}, {@code range} and
 * {@code dict} as globals. The chat-specific globals ({@code raise_exception}, {@code
 * strftime_now}) are the caller's variables.
 *
 * <p>Not supported, and refused when parsed: template inheritance and inclusion ({@code extends},
 * {@code include}, {@code import}), {@code call} blocks, {@code filter} blocks, recursive loops.
 * Rendering is bounded: output past {@code maxOutput} characters is an error.
 *
 * <p>Immutable and thread-safe; each render has its own state.
 */
public final class JinjaTemplate {
  /** The default bound on rendered text: 8 Mi characters. */
  public static final int DEFAULT_MAX_OUTPUT = 8 << 20;
  private final List<Node> nodes;
  private final int maxOutput;

  private JinjaTemplate(List<Node> nodes, int maxOutput) {
    this.nodes = nodes;
    this.maxOutput = maxOutput;
  }

  /**
   * Parses {@code source}.
   *
   * @throws JinjaException when it is not a template this engine runs, naming the line
   */
  public static JinjaTemplate parse(String source) {
    return parse(source, DEFAULT_MAX_OUTPUT);
  }

  /** Parses {@code source}, bounding each render's output to {@code maxOutput} characters. */
  public static JinjaTemplate parse(String source, int maxOutput) {
    requireNonNull(source, "source");
    if (maxOutput <= 0) {
      throw new IllegalArgumentException("maxOutput must be positive, got " + maxOutput);
    }
    return new JinjaTemplate(Parser.parse(source), maxOutput);
  }

  /**
   * Renders with {@code variables}: strings, numbers, booleans, null (none), lists, maps with
   * string keys (their order kept) and {@link JinjaFunction}s.
   *
   * @throws JinjaException on a runtime error, including the template's own {@code raise_exception}
   */
  public String render(Map<String, ?> variables) {
    requireNonNull(variables, "variables");
    Map<String, Object> vars = new LinkedHashMap<>();
    variables.forEach((k, v) -> vars.put(k, value(v)));
    return new Interpreter(vars, maxOutput).render(nodes);
  }

  /** {@code v} in the types the interpreter works with (Long and Double for numbers, copies of collections). */
  private static Object value(Object v) {
    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Float f) {
      return f.doubleValue();
    }
    if (v instanceof BigInteger b) {
      return b.bitLength() < 64 ? (Object) b.longValue() : b.doubleValue();
    }
    if (v instanceof BigDecimal d) {
      return d.doubleValue();
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      l.forEach(x -> out.add(value(x)));
      return out;
    }
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put(k, value(x)));
      return out;
    }
    if (v == null || v instanceof String || v instanceof Long || v instanceof Double || v instanceof Boolean
        || v instanceof JinjaFunction) {
      return v;
    }
    throw new IllegalArgumentException("a template variable cannot be a " + v.getClass().getName());
  }
}
