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
  /** Off; 3 samples of 16 tokens at 0.8, agreement 0.5 when enabled. */
  public static final Cascade DISABLED = new Builder().build();

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

  /** Settings at {@link #DISABLED} until set. */
  public static Builder builder() {
    return new Builder();
  }

  /** Configures a {@link Cascade}; {@link #build()} checks every rule, naming the key. Not thread-safe. */
  public static final class Builder {
    private boolean enabled;
    private int samples = 3;
    private int sampleMaxTokens = 16;
    private double temperature = 0.8;
    private double minAgreement = 0.5;

    private Builder() {}

    /** {@code routing.cascade.enabled}; default false. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** {@code routing.cascade.samples}; default 3. */
    public Builder samples(int samples) {
      this.samples = samples;
      return this;
    }

    /** {@code routing.cascade.sample_max_tokens}; default 16. */
    public Builder sampleMaxTokens(int sampleMaxTokens) {
      this.sampleMaxTokens = sampleMaxTokens;
      return this;
    }

    /** {@code routing.cascade.temperature}; default 0.8. */
    public Builder temperature(double temperature) {
      this.temperature = temperature;
      return this;
    }

    /** {@code routing.cascade.min_agreement}; default 0.5. */
    public Builder minAgreement(double minAgreement) {
      this.minAgreement = minAgreement;
      return this;
    }

    /** @throws ConfigException naming the first key whose value breaks its rule */
    public Cascade build() {
      return new Cascade(enabled, samples, sampleMaxTokens, temperature, minAgreement);
    }
  }
}
