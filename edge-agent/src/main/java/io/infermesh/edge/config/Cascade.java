package io.infermesh.edge.config;

import io.infermesh.node.config.ConfigException;

/**
 * The optional cascade ({@code routing.cascade} in {@code edge.yaml}): a request the router leaves
 * to the edge by difficulty is answered locally first; then {@code samples} short answers
 * ({@code sample_max_tokens} tokens at {@code temperature}) are drawn and, when they agree less
 * than {@code min_agreement}, the request escalates to the core with the local draft attached
 * (reason {@code cascade-rejected}); otherwise the draft is the answer ({@code cascade-accepted}).
 *
 * @param enabled whether the cascade runs (off by default)
 * @param samples short samples whose agreement is measured, at least 2
 * @param sampleMaxTokens length of each sample, at least 1
 * @param temperature sampling temperature of the samples, in (0, 2]
 * @param minAgreement agreement (mean pairwise word overlap, in [0, 1]) below which the draft escalates
 */
public record Cascade(boolean enabled, int samples, int sampleMaxTokens, double temperature, double minAgreement) {
  public static final Cascade DISABLED = new Cascade(false, 3, 16, 0.8, 0.5);

  public Cascade {
    if (samples < 2) {
      throw new ConfigException("routing.cascade.samples", "must be at least 2, got " + samples);
    }
    if (sampleMaxTokens < 1) {
      throw new ConfigException("routing.cascade.sample_max_tokens", "must be at least 1, got " + sampleMaxTokens);
    }
    if (!(temperature > 0 && temperature <= 2)) {
      throw new ConfigException("routing.cascade.temperature", "must be in (0, 2], got " + temperature);
    }
    if (!(minAgreement >= 0 && minAgreement <= 1)) {
      throw new ConfigException("routing.cascade.min_agreement", "must be in [0, 1], got " + minAgreement);
    }
  }
}
