package io.infermesh.models.chat;

import io.infermesh.models.tiny.TinyChatTemplate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What rendering a prompt with a checkpoint's own template costs per request (not part of {@code
 * verify}): Qwen2.5-Instruct's template through the Jinja engine against the fixed ChatML renderer
 * with the tools fallback, for a 4-turn tool chat and a 64-turn chat, and parsing the template
 * (once per model load). Run: {@code ./mvnw -o -pl models test -Dtest=ChatTemplateBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}; the lines start with TEMPLATE.
 */
class ChatTemplateBenchmark {
  private static final String TOOL = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
      + "\"Current weather in a city\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
      + "\"string\"},\"unit\":{\"type\":\"string\",\"enum\":[\"c\",\"f\"]}},\"required\":[\"city\"]}}}";

  @Test
  void renderCost() {
    String source = TinyChatTemplate.QWEN25_TOOLS.source();
    JinjaChatTemplate qwen = JinjaChatTemplate.builder(source).build();
    ChatTemplate chatml = ChatTemplates.named("chatml");
    List<ChatTurn> tools = List.of(ChatTurn.system("You are terse."), ChatTurn.user("Weather in Paris?"),
        ChatTurn.assistant("", List.of(new ToolCalls.Call("get_weather", "{\"city\":\"Paris\"}", "call_1"))),
        ChatTurn.tool("call_1", "{\"temp\": 21}"));
    List<ChatTurn> long64 = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      long64.add(ChatTurn.user("question " + i));
      long64.add(ChatTurn.assistant("answer " + i));
    }
    report("4-turn tool chat", qwen, chatml, tools, List.of(TOOL), 20_000);
    report("64-turn chat", qwen, chatml, long64, List.of(), 2_000);
    double[] parse = new double[7];
    for (int r = 0; r < parse.length; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < 500; i++) {
        JinjaChatTemplate.builder(source).build();
      }
      parse[r] = (System.nanoTime() - t0) / 1e3 / 500;
    }
    System.out.printf("TEMPLATE parse Qwen2.5's template: p50 %.1f us%n", median(parse));
  }

  private static void report(String label, ChatTemplate jinja, ChatTemplate fixed, List<ChatTurn> turns,
      List<String> tools, int n) {
    double[] a = new double[7];
    double[] b = new double[7];
    for (int r = 0; r < a.length; r++) { // interleaved; the first rounds warm the JIT and are kept
      a[r] = time(jinja, turns, tools, n);
      b[r] = time(fixed, turns, tools, n);
    }
    System.out.printf("TEMPLATE %s: checkpoint (Jinja) p50 %.1f us, fixed chatml + fallback p50 %.1f us per render "
        + "(rounds %s / %s)%n", label, median(a), median(b), Arrays.toString(round(a)), Arrays.toString(round(b)));
  }

  private static double time(ChatTemplate t, List<ChatTurn> turns, List<String> tools, int n) {
    long t0 = System.nanoTime();
    int chars = 0;
    for (int i = 0; i < n; i++) {
      chars += t.render(turns, tools).length();
    }
    if (chars == 0) {
      throw new AssertionError("nothing rendered");
    }
    return (System.nanoTime() - t0) / 1e3 / n;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static double[] round(double[] v) {
    return Arrays.stream(v).map(x -> Math.round(x * 10) / 10.0).toArray();
  }
}
