package io.infermesh.node.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One request decision, as the audit log keeps it: who asked (tenant, caller identity), where it was
 * served and why, which model, how many tokens, the quota outcome, what masking did (detector kinds
 * and counts, never values) and the final status. The prompt and answer texts are absent unless the
 * tenant's policy asks for them; the caller decides and fills them in.
 *
 * <p>Immutable; built with {@link #builder()}. Required: time, request id, tenant and status; the
 * other text fields default to the empty string, token counts to 0, masking to none.
 */
public final class AuditRecord {
  private final Instant time;
  private final String requestId;
  private final String tenant;
  private final String caller;
  private final String route;
  private final String reason;
  private final String model;
  private final String modelVersion;
  private final long promptTokens;
  private final long completionTokens;
  private final String quota;
  private final Map<String, Integer> masking;
  private final String status;
  private final Optional<String> prompt;
  private final Optional<String> answer;

  private AuditRecord(Builder b) {
    this.time = requireNonNull(b.time, "time");
    this.requestId = requireNonNull(b.requestId, "requestId");
    this.tenant = requireNonNull(b.tenant, "tenant");
    this.status = requireNonNull(b.status, "status");
    this.caller = b.caller;
    this.route = b.route;
    this.reason = b.reason;
    this.model = b.model;
    this.modelVersion = b.modelVersion;
    this.promptTokens = b.promptTokens;
    this.completionTokens = b.completionTokens;
    this.quota = b.quota;
    this.masking = Collections.unmodifiableMap(new TreeMap<>(b.masking));
    this.prompt = Optional.ofNullable(b.prompt);
    this.answer = Optional.ofNullable(b.answer);
  }

  public static Builder builder() {
    return new Builder();
  }

  public Instant time() {
    return time;
  }

  public String requestId() {
    return requestId;
  }

  public String tenant() {
    return tenant;
  }

  /** The caller's identity: a SPIFFE ID, a JWT subject or an API key's name; empty when anonymous. */
  public String caller() {
    return caller;
  }

  /** {@code edge}, {@code core}, {@code edge-degraded}, {@code cache}, or empty when refused first. */
  public String route() {
    return route;
  }

  public String reason() {
    return reason;
  }

  public String model() {
    return model;
  }

  public String modelVersion() {
    return modelVersion;
  }

  public long promptTokens() {
    return promptTokens;
  }

  public long completionTokens() {
    return completionTokens;
  }

  /** The quota outcome, e.g. {@code ok}, {@code exceeded:tokens_per_day}; empty when no quota applies. */
  public String quota() {
    return quota;
  }

  /** Detector kind → matches masked, blocked or pinned local. */
  public Map<String, Integer> masking() {
    return masking;
  }

  /** The final status: an HTTP status code or a gRPC code name. */
  public String status() {
    return status;
  }

  public Optional<String> prompt() {
    return prompt;
  }

  public Optional<String> answer() {
    return answer;
  }

  @Override
  public String toString() {
    return "AuditRecord[" + requestId + ", " + tenant + ", " + status + "]";
  }

  /** Not thread-safe. */
  public static final class Builder {
    private Instant time;
    private String requestId;
    private String tenant;
    private String caller = "";
    private String route = "";
    private String reason = "";
    private String model = "";
    private String modelVersion = "";
    private long promptTokens;
    private long completionTokens;
    private String quota = "";
    private Map<String, Integer> masking = Map.of();
    private String status;
    private String prompt;
    private String answer;

    private Builder() {}

    public Builder time(Instant time) {
      this.time = requireNonNull(time, "time");
      return this;
    }

    public Builder requestId(String requestId) {
      this.requestId = requireNonNull(requestId, "requestId");
      return this;
    }

    public Builder tenant(String tenant) {
      this.tenant = requireNonNull(tenant, "tenant");
      return this;
    }

    public Builder caller(String caller) {
      this.caller = requireNonNull(caller, "caller");
      return this;
    }

    public Builder route(String route, String reason) {
      this.route = requireNonNull(route, "route");
      this.reason = requireNonNull(reason, "reason");
      return this;
    }

    public Builder model(String model, String version) {
      this.model = requireNonNull(model, "model");
      this.modelVersion = requireNonNull(version, "version");
      return this;
    }

    public Builder tokens(long prompt, long completion) {
      if (prompt < 0 || completion < 0) {
        throw new IllegalArgumentException("token counts must not be negative, got " + prompt + ", " + completion);
      }
      this.promptTokens = prompt;
      this.completionTokens = completion;
      return this;
    }

    public Builder quota(String quota) {
      this.quota = requireNonNull(quota, "quota");
      return this;
    }

    public Builder masking(Map<String, Integer> masking) {
      this.masking = Map.copyOf(requireNonNull(masking, "masking"));
      return this;
    }

    public Builder status(String status) {
      this.status = requireNonNull(status, "status");
      return this;
    }

    /** The prompt text; set only when the tenant's policy keeps texts. */
    public Builder prompt(String prompt) {
      this.prompt = requireNonNull(prompt, "prompt");
      return this;
    }

    /** The answer text; set only when the tenant's policy keeps texts. */
    public Builder answer(String answer) {
      this.answer = requireNonNull(answer, "answer");
      return this;
    }

    public AuditRecord build() {
      return new AuditRecord(this);
    }
  }
}
