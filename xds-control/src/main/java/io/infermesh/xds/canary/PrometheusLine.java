package io.infermesh.xds.canary;

import java.util.HashMap;
import java.util.Map;

/**
 * One sample line of the Prometheus text format: {@code name{label="value",...} value
 * [timestamp]}, label values unescaped ({@code \\}, {@code \"}, {@code \n}). Linear in the line.
 *
 * @param name the metric name
 * @param labels the labels, unescaped
 * @param value the sample value ({@code +Inf}, {@code -Inf} and {@code NaN} included)
 */
record PrometheusLine(String name, Map<String, String> labels, double value) {

  static PrometheusLine parse(String line) {
    int i = 0;
    int n = line.length();
    while (i < n && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    Map<String, String> labels = new HashMap<>();
    if (i < n && line.charAt(i) == '{') {
      i++;
      while (i < n && line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        if (eq < 0 || eq + 1 >= n || line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("malformed labels in '" + line + "'");
        }
        String key = line.substring(i, eq).trim();
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        for (; j < n && line.charAt(j) != '"'; j++) {
          char c = line.charAt(j);
          if (c == '\\' && j + 1 < n) {
            char next = line.charAt(++j);
            value.append(next == 'n' ? '\n' : next);
          } else {
            value.append(c);
          }
        }
        if (j >= n) {
          throw new IllegalArgumentException("unterminated label value in '" + line + "'");
        }
        labels.put(key, value.toString());
        i = j + 1;
        if (i < n && line.charAt(i) == ',') {
          i++;
        }
      }
      if (i >= n) {
        throw new IllegalArgumentException("unterminated labels in '" + line + "'");
      }
      i++;
    }
    String rest = line.substring(i).trim();
    int space = rest.indexOf(' ');
    String number = space < 0 ? rest : rest.substring(0, space);
    double value = switch (number) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> {
        try {
          yield Double.parseDouble(number);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a sample value: '" + number + "'", e);
        }
      }
    };
    return new PrometheusLine(name, labels, value);
  }
}
