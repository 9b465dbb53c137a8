package io.infermesh.models.jinja;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine against Jinja2 itself: each expected string is what Jinja2 3.1.6 renders in
 * transformers' environment ({@code ImmutableSandboxedEnvironment(trim_blocks=True,
 * lstrip_blocks=True)} with loop controls and transformers' {@code tojson}).
 */
class JinjaTemplateTest {
  private static final Map<String, Object> D = new LinkedHashMap<>();

  static {
    D.put("a", 1);
    D.put("b", Arrays.asList(true, null, 1.5, "x'y"));
  }

  @Test
  void render_blockTagsAloneOnTheirLines_takeTheirIndentAndNewline() {
    assertThat(render("{% if true %}\n    a\n{% endif %}\n  {%- if 1 %}b{% endif %}\n")).isEqualTo("    a\nb");
    assertThat(render("{#- c -#}\n  {{- 'x' -}}  \n  {%+ if true %}y{% endif %}")).isEqualTo("xy");
    assertThat(render("a\n  {{ 'v' }}\n")).isEqualTo("a\n  v");
  }

  @Test
  void render_loopControlsAndLoopVariable_behaveAsJinja() {
    assertThat(render("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}"
        + "{% if loop.last %}!{% endif %}{% endfor %}")).isEqualTo("13!");
    assertThat(render("{% for x in range(10) %}{% if x > 2 %}{% break %}{% endif %}{{ loop.index }}/"
        + "{{ loop.length }} {% endfor %}")).isEqualTo("1/10 2/10 3/10 ");
    assertThat(render("{% for a in [] %}x{% else %}empty{% endfor %}")).isEqualTo("empty");
    assertThat(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ ',' if not loop.last }}{% endfor %}"))
        .isEqualTo("2,4");
  }

  @Test
  void render_setInsideLoop_staysInTheLoopButNamespaceCarriesOut() {
    assertThat(render("{% set ns = namespace(n=0) %}{% set m = 0 %}{% for x in xs %}{% set ns.n = ns.n + x %}"
        + "{% set m = m + x %}{% endfor %}{{ ns.n }} {{ m }}", Map.of("xs", List.of(1, 2, 3)))).isEqualTo("6 0");
  }

  @Test
  void render_pythonStringMethodsAndSlices_matchPython() {
    assertThat(render("{{ '  Hi there  '.strip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
        + "{{ 'abc'.startswith(('x', 'a')) }}|{{ 'xyx'.rstrip('x') }}|{{ 'Hello'[1:-1] }}|{{ [1,2,3][::-1] }}"))
        .isEqualTo("Hi there|['a', 'b', '', 'c']|['a', 'b']|True|xy|ell|[3, 2, 1]");
  }

  @Test
  void render_dictMethodsAndMembership_matchPython() {
    assertThat(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.get('zz', 'none') }}|"
        + "{{ d | length }}|{{ 'a' in d }}", Map.of("d", D))).isEqualTo("a=1;b=[True, None, 1.5, \"x'y\"];none|2|True");
  }

  @Test
  void render_tojson_isPythonsJsonDumps() {
    assertThat(render("{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ d }}", Map.of("d", D)))
        .isEqualTo("{\"a\": 1, \"b\": [true, null, 1.5, \"x'y\"]}|{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null,\n"
            + "    1.5,\n    \"x'y\"\n  ]\n}|\"é\\\"\\n\"|{'a': 1, 'b': [True, None, 1.5, \"x'y\"]}");
  }

  @Test
  void render_selectAndMapFilters_filterByTestsAndAttributes() {
    List<Map<String, Object>> xs = List.of(Map.of("k", 1, "v", "a"), Map.of("k", 0, "v", "b"),
        Map.of("k", 1, "v", "c"));

    assertThat(render("{{ xs | selectattr('k', 'equalto', 1) | map(attribute='v') | join(', ') }}|"
        + "{{ xs | rejectattr('k') | list | length }}|{{ xs | map(attribute='v') | first }}", Map.of("xs", xs)))
        .isEqualTo("a, c|1|a");
  }

  @Test
  void render_testsAndOperators_matchPython() {
    assertThat(render("{{ undefined_thing is defined }}{{ none is none }}{{ 'x' is string }}{{ 3 is number }}"
        + "{{ {} is mapping }}{{ 'x' is iterable }}{{ 4 is divisibleby 2 }}{{ x | default('d') }}{{ 7 // 2 }}"
        + "{{ -7 % 3 }}{{ 7 / 2 }}{{ 2 ** 10 }}{{ 'ab' ~ 1 }}{{ 'a' * 3 }}"))
        .isEqualTo("FalseTrueTrueTrueTrueTrueTrued323.51024ab1aaa");
    assertThat(render("{% if false %}{% elif 1 == 1.0 %}eq{% else %}no{% endif %}{{ 1 < 2 < 3 }}"
        + "{{ 'b' not in 'abc' }}")).isEqualTo("eqTrueFalse");
  }

  @Test
  void render_macrosSetBlocksAndConditionals_matchJinja() {
    assertThat(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} "
        + "{{ greet('Bob', punct='?') }}")).isEqualTo("Hi Ann! Hi Bob?");
    assertThat(render("{% set body %}x{{ 1 + 1 }}{% endset %}{{ body | upper }} {{ 'yes' if 0 else 'no' }} "
        + "{{ [1, 2] + [3] }} {{ (1, 2)[1] }} {{ 'a' if 1 }}")).isEqualTo("X2 no [1, 2, 3] 2 a");
  }

  @Test
  void render_attributeOfUndefined_failsNamingIt() {
    assertThatThrownBy(() -> render("\n{{ missing.role }}")).isInstanceOf(JinjaException.class)
        .hasMessage("line 2: 'missing' is undefined, so it has no attribute 'role'");
  }

  @Test
  void render_filterArgumentOfTheWrongType_failsAsATemplateError() {
    assertThatThrownBy(() -> render("{{ 'x' | indent('four') }}")).isInstanceOf(JinjaException.class)
        .hasMessageStartingWith("line 1: bad argument");
    assertThatThrownBy(() -> render("{{ 1 + 'a' }}")).isInstanceOf(JinjaException.class)
        .hasMessage("line 1: unsupported operand type(s) for +: 'int' and 'str'");
  }

  @Test
  void parse_unsupportedStatement_isRefusedByName() {
    assertThatThrownBy(() -> JinjaTemplate.parse("{% include 'x.jinja' %}")).isInstanceOf(JinjaException.class)
        .hasMessage("line 1: the 'include' statement is not supported");
    assertThatThrownBy(() -> JinjaTemplate.parse("{% if x %}no end")).isInstanceOf(JinjaException.class)
        .hasMessageContaining("missing one of [elif, else, endif]");
    assertThatThrownBy(() -> JinjaTemplate.parse("{{ 'open }}")).isInstanceOf(JinjaException.class)
        .hasMessage("line 1: unclosed string literal");
  }

  @Test
  void render_outputPastTheBound_fails() {
    JinjaTemplate t = JinjaTemplate.parse("{% for i in range(100) %}0123456789{% endfor %}", 500);

    assertThatThrownBy(() -> t.render(Map.of())).isInstanceOf(JinjaException.class)
        .hasMessage("the rendered text is over 500 characters");
  }

  private static String render(String source) {
    return render(source, Map.of());
  }

  private static String render(String source, Map<String, ?> vars) {
    return JinjaTemplate.parse(source).render(vars);
  }
}
