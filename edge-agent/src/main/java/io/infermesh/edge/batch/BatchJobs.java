package io.infermesh.edge.batch;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.config.Batches;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.engine.Priority;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.IntPredicate;
import java.util.stream.Collectors;

/**
 * An edge's batch jobs, as one part the agent starts and closes: the {@link BatchStore} that {@code
 * batch:} names, the {@link BatchService} behind the HTTP API and the {@link BatchRunner}'s
 * workers. Thread-safe.
 */
public final class BatchJobs implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final BatchStore store;
  private final BatchRunner runner;
  private final BatchService service;

  private BatchJobs(BatchStore store, BatchRunner runner, BatchService service) {
    this.store = store;
    this.runner = runner;
    this.service = service;
  }

  /**
   * Opens the store and starts the workers.
   *
   * @param executor runs a line through the edge's request path
   * @param spare whether interactive traffic leaves room for a line now ({@link SpareCapacity})
   * @throws IOException when the store cannot be opened (its data directory locked by another process, say)
   */
  public static BatchJobs start(EdgeConfig config, LineExecutor executor, IntPredicate spare, Clock clock)
      throws IOException {
    Batches batch = config.batch();
    BatchStore store = JdbcBatchStore.open(batch, batch.concurrency() + 2);
    String worker = config.node().name() + "-" + HexFormat.of().formatHex(randomBytes());
    BatchRunner runner = BatchRunner.start(store, executor, spare, tenants(config.auth()), clock, batch.lease(), worker,
        batch.concurrency());
    BatchService service = new BatchService(store, batch, config.http().maxBodyBytes(), clock, runner::wake);
    return new BatchJobs(store, runner, service);
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[4];
    RANDOM.nextBytes(b);
    return b;
  }

  /**
   * Who a batch's lines run as: the tenant by name with its configured rates (none for a tenant only
   * a JWT named), its priority capped at low, the caller and privacy policy the batch was created by.
   */
  static Function<BatchOwner, Tenant> tenants(EdgeConfig.Auth auth) {
    Map<String, EdgeConfig.Tenant> listed = auth.tenants().stream()
        .collect(Collectors.toUnmodifiableMap(EdgeConfig.Tenant::name, Function.identity()));
    return owner -> {
      if (!auth.enabled() && owner.tenant().equals(Tenant.ANONYMOUS.name())) {
        return new Tenant(owner.tenant(), 0, 0, owner.caller(), Optional.of(Priority.LOW), owner.privacyPolicy());
      }
      EdgeConfig.Tenant t = listed.get(owner.tenant());
      long rpm = t == null ? 0 : t.requestsPerMinute();
      long tpm = t == null ? 0 : t.tokensPerMinute();
      return new Tenant(owner.tenant(), rpm, tpm, owner.caller(), Optional.of(Priority.LOW), owner.privacyPolicy());
    };
  }

  /** The Files and Batch APIs' logic, for the HTTP API. */
  public BatchService service() {
    return service;
  }

  /** Stops the workers (lines running end or are released), then closes the store. */
  @Override
  public void close() {
    runner.stop(Duration.ofSeconds(10));
    store.close();
  }

  @Override
  public String toString() {
    return "BatchJobs{" + store + ", " + runner + "}";
  }
}
