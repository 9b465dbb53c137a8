package io.infermesh.edge.calibrate;

import static java.util.Objects.requireNonNull;

/**
 * What the self-calibrating threshold holds steady ({@code routing.calibration.target}): the share
 * of scored requests that escalate ({@code escalation_rate=0.2}), or the share of shadowed local
 * answers the core agrees with ({@code agreement=0.9}).
 */
public sealed interface CalibrationTarget {
  /** The value in {@code (0, 1)}. */
  double value();

  /** The config form, e.g. {@code escalation_rate=0.2}. */
  String text();

  /**
   * Parses {@code escalation_rate=<r>} or {@code agreement=<a>}, the value in {@code (0, 1)}.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  static CalibrationTarget parse(String text) {
    requireNonNull(text, "text");
    int eq = text.indexOf('=');
    if (eq < 0) {
      throw new IllegalArgumentException("must be 'escalation_rate=<0..1>' or 'agreement=<0..1>', got '" + text + "'");
    }
    String name = text.substring(0, eq).trim();
    double value;
    try {
      value = Double.parseDouble(text.substring(eq + 1).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text.substring(eq + 1).trim() + "' is not a number");
    }
    if (!(value > 0 && value < 1)) {
      throw new IllegalArgumentException(name + " must be in (0, 1), got " + value);
    }
    return switch (name) {
      case "escalation_rate" -> new EscalationRate(value);
      case "agreement" -> new Agreement(value);
      default -> throw new IllegalArgumentException("unknown target '" + name
          + "': must be 'escalation_rate' or 'agreement'");
    };
  }

  /** Escalate this share of the requests the scorer sees. */
  record EscalationRate(double value) implements CalibrationTarget {
    @Override
    public String text() {
      return "escalation_rate=" + value;
    }
  }

  /** Keep the core's agreement with the answers left on the edge at this share. */
  record Agreement(double value) implements CalibrationTarget {
    @Override
    public String text() {
      return "agreement=" + value;
    }
  }
}
