package io.infermesh.edge.route;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A difficulty score from surface features: prompt length, number of turns, code, math and
 * reasoning cues, and the requested completion length, combined by a fixed logistic model:
 * {@code score = sigmoid(bias + Σ weight_i · feature_i)}. Each feature is scaled to about
 * {@code [0, 1]}. Stateless and thread-safe; a few microseconds per call.
 */
public final class FeatureScorer implements DifficultyScorer {
  private static final Pattern CODE = Pattern.compile(
      "```|\\bdef |\\bclass |\\bfunction\\b|\\breturn\\b|#include|\\bpublic static\\b|=>|\\bSELECT\\b|[{};]\\s*$",
      Pattern.MULTILINE);
  private static final Pattern MATH = Pattern.compile(
      "\\d+\\s*[-+*/^=]\\s*\\d+|\\b(integral|derivative|prove|proof|theorem|equation|matrix|solve|probability)\\b");
  private static final Pattern REASONING = Pattern.compile(
      "\\b(why|explain|step by step|analy[sz]e|compare|reason|trade-?offs?|design|evaluate|plan)\\b");

  private final double bias;
  private final double lengthWeight;
  private final double turnsWeight;
  private final double codeWeight;
  private final double mathWeight;
  private final double reasoningWeight;
  private final double maxTokensWeight;

  private FeatureScorer(double bias, double length, double turns, double code, double math, double reasoning,
      double maxTokens) {
    this.bias = bias;
    this.lengthWeight = length;
    this.turnsWeight = turns;
    this.codeWeight = code;
    this.mathWeight = math;
    this.reasoningWeight = reasoning;
    this.maxTokensWeight = maxTokens;
  }

  /**
   * The default weights: a short chit-chat prompt scores about 0.1, a prompt with code or math
   * cues about 0.5, code plus reasoning or a long prompt with a long answer above 0.7.
   */
  public static FeatureScorer defaults() {
    return new FeatureScorer(-2.4, 1.6, 0.6, 2.0, 2.0, 1.4, 1.2);
  }

  @Override
  public double score(RouteRequest request) {
    String text = request.text();
    String lower = text.toLowerCase(Locale.ROOT);
    // features, each about [0, 1]
    double length = Math.min(1.0, request.promptTokens() / 1024.0);
    double turns = Math.min(1.0, Math.max(0, request.turns() - 1) / 8.0);
    double code = CODE.matcher(text).find() ? 1 : 0;
    double math = MATH.matcher(lower).find() ? 1 : 0;
    double reasoning = REASONING.matcher(lower).find() ? 1 : 0;
    double maxTokens = Math.min(1.0, request.maxTokens() / 1024.0);
    double z = bias + lengthWeight * length + turnsWeight * turns + codeWeight * code + mathWeight * math
        + reasoningWeight * reasoning + maxTokensWeight * maxTokens;
    return 1 / (1 + Math.exp(-z));
  }

  @Override
  public String toString() {
    return "FeatureScorer";
  }
}
