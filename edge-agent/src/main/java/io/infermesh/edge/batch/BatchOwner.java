package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * Who a batch's lines run as, kept with the batch so that a node that resumes it after a restart
 * runs them as the same tenant: its name (rates and quotas are looked up by it), the caller for
 * the audit log, and the privacy policy its credential named.
 */
public record BatchOwner(String tenant, String caller, Optional<String> privacyPolicy) {
  public BatchOwner {
    requireNonNull(tenant, "tenant");
    requireNonNull(caller, "caller");
    requireNonNull(privacyPolicy, "privacyPolicy");
  }
}
