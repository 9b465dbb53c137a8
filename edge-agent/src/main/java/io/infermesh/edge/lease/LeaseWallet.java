package io.infermesh.edge.lease;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.protobuf.InvalidProtocolBufferException;
import io.infermesh.api.v1.SignedLease;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leases this device holds and what it spent from each, kept durably so that the device can
 * never spend more than it was leased — across restarts and a {@code kill -9} too.
 *
 * <p><b>Write before serve.</b> {@link #reserve} takes a request's worst case (prompt + {@code
 * max_tokens}) from one valid lease of the request's tenant and returns only once that reservation
 * is on disk ({@link WalletFile}: the whole state replaced atomically and fsync'd); {@link #settle}
 * then turns it into what the request really used. A wallet opened after a crash counts every
 * reservation it finds as spent in full: the device may have served all of it, and over-counting
 * is the safe side. If the write fails the reservation is undone and the request refused.
 *
 * <p><b>Reports.</b> {@link #nextReport} numbers a lease's next report (cumulative tokens spent) one
 * above the last the core answered; {@link #acknowledged} records the core's receipt durably and
 * forgets a lease the core closed.
 *
 * <p>Leases are re-verified when the file is read (signature, signer, this device): a file
 * edited to hold a forged lease is refused, an edited spent counter is not detected (the device
 * is trusted with its own disk). Thread-safe: one lock, held across each write (a write is one
 * fsync'd file of a few KB per lease).
 */
public final class LeaseWallet {
  private static final Logger log = LoggerFactory.getLogger(LeaseWallet.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int FORMAT = 1;

  private final WalletFile file;
  private final Clock clock;
  private final Object lock = new Object();
  @GuardedBy("lock")
  private final Map<String, Entry> entries = new LinkedHashMap<>();
  @GuardedBy("lock")
  private long nextHold = 1;

  /** One lease and its counters. */
  private static final class Entry {
    final VerifiedLease lease;
    long spent; // settled, plus the holds of a run that crashed
    long reserved; // held by requests still running
    long sequence; // the last report number the core answered
    long acknowledged; // tokens the core confirmed charged

    Entry(VerifiedLease lease) {
      this.lease = lease;
    }

    long unspent() {
      return lease.tokens() - spent - reserved;
    }
  }

  /**
   * Tokens held for one request until it settles.
   *
   * @param id unique within this wallet's run
   * @param leaseId the lease it is taken from
   * @param tenant the lease's tenant
   * @param tokens the worst case held
   */
  public record Hold(long id, String leaseId, String tenant, long tokens) {}

  /** What {@link #reserve} answers. */
  public sealed interface Spend {
    /** Held: serve the request, then {@link #settle} the hold. */
    record Reserved(Hold hold) implements Spend {}

    /**
     * Refused: no valid lease of the tenant has the tokens left.
     *
     * @param message safe to show the tenant: names the tenant and the lease budget
     */
    record Refused(String message) implements Spend {}
  }

  /** One report to send: lease {@code leaseId} spent {@code tokensSpent} in all, as report {@code sequence}. */
  public record Report(String leaseId, long sequence, long tokensSpent) {}

  private LeaseWallet(WalletFile file, Clock clock) {
    this.file = file;
    this.clock = clock;
  }

  /**
   * The wallet in {@code path} (empty when the file does not exist yet), its leases checked by
   * {@code verifier}; what a crashed run held is counted as spent, and made durable now.
   *
   * @throws IOException when the file cannot be read or written, or does not parse
   */
  public static LeaseWallet open(Path path, LeaseVerifier verifier, Clock clock) throws IOException {
    return open(WalletFile.at(path), verifier, clock);
  }

  static LeaseWallet open(WalletFile file, LeaseVerifier verifier, Clock clock) throws IOException {
    LeaseWallet wallet = new LeaseWallet(requireNonNull(file, "file"), requireNonNull(clock, "clock"));
    requireNonNull(verifier, "verifier");
    Optional<byte[]> saved = file.read();
    if (saved.isPresent()) {
      synchronized (wallet.lock) {
        wallet.loadLocked(saved.get(), verifier);
        wallet.writeLocked();
      }
    }
    return wallet;
  }

  @GuardedBy("lock")
  private void loadLocked(byte[] saved, LeaseVerifier verifier) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(saved);
    } catch (IOException e) {
      throw new IOException(file + ": not a lease wallet (" + e.getMessage() + ")", e);
    }
    if (root == null || root.path("format").asInt() != FORMAT) {
      throw new IOException(file + ": not a lease wallet of format " + FORMAT);
    }
    for (JsonNode n : root.path("leases")) {
      SignedLease signed;
      try {
        signed = SignedLease.parseFrom(Base64.getDecoder().decode(n.path("signed").asText()));
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        throw new IOException(file + ": a lease does not parse (" + e.getMessage() + ")", e);
      }
      VerifiedLease lease;
      try {
        lease = verifier.verify(signed, Optional.empty());
      } catch (LeaseRefusedException e) {
        log.error("{}: dropping a lease that does not verify: {}", file, e.getMessage());
        continue;
      }
      Entry e = new Entry(lease);
      // a crashed run may have served all it held: spent in full
      e.spent = n.path("spent").asLong() + n.path("reserved").asLong();
      e.sequence = n.path("sequence").asLong();
      e.acknowledged = n.path("acknowledged").asLong();
      entries.put(lease.id(), e);
    }
  }

  /**
   * Keeps {@code lease} (already verified for this device).
   *
   * @throws IOException when it cannot be made durable (then it is not kept)
   */
  public void add(VerifiedLease lease) throws IOException {
    requireNonNull(lease, "lease");
    synchronized (lock) {
      if (entries.containsKey(lease.id())) {
        return;
      }
      entries.put(lease.id(), new Entry(lease));
      try {
        writeLocked();
      } catch (IOException e) {
        entries.remove(lease.id());
        throw e;
      }
    }
  }

  /**
   * Holds {@code tokens} for one request of {@code tenant} from the valid lease that expires first
   * among those with enough left; returns once the hold is durable.
   *
   * @throws IOException when the hold cannot be made durable (it is undone: serve nothing)
   */
  public Spend reserve(String tenant, long tokens) throws IOException {
    requireNonNull(tenant, "tenant");
    if (tokens < 1) {
      throw new IllegalArgumentException("a hold is at least 1 token, got " + tokens);
    }
    Instant now = clock.instant();
    synchronized (lock) {
      Entry chosen = entries.values().stream()
          .filter(e -> e.lease.tenant().equals(tenant) && e.lease.validAt(now) && e.unspent() >= tokens)
          .min(Comparator.comparing(e -> e.lease.notAfter()))
          .orElse(null);
      if (chosen == null) {
        long left = unspentLocked(tenant, now);
        return new Spend.Refused(left == 0
            ? "the lease budget of tenant '" + tenant + "' is spent or expired and the core cannot be reached to renew "
                + "it; retry when the core is back"
            : "the lease budget of tenant '" + tenant + "' has " + left + " tokens left, and this request may use "
                + tokens + "; lower max_tokens or retry when the core is back");
      }
      chosen.reserved += tokens;
      try {
        writeLocked();
      } catch (IOException e) {
        chosen.reserved -= tokens;
        throw e;
      }
      return new Spend.Reserved(new Hold(nextHold++, chosen.lease.id(), tenant, tokens));
    }
  }

  /**
   * Replaces {@code hold} with the {@code usedTokens} its request really used. A failed write is
   * logged, not thrown: the file then still holds the whole hold, counted as spent after a crash.
   */
  public void settle(Hold hold, long usedTokens) {
    requireNonNull(hold, "hold");
    if (usedTokens < 0) {
      throw new IllegalArgumentException("used tokens must not be negative, got " + usedTokens);
    }
    synchronized (lock) {
      Entry e = entries.get(hold.leaseId());
      if (e == null || e.reserved < hold.tokens()) {
        throw new IllegalStateException("hold " + hold.id() + " is not open in lease " + hold.leaseId());
      }
      e.reserved -= hold.tokens();
      e.spent += usedTokens; // at most the hold: the engine stops at max_tokens
      try {
        writeLocked();
      } catch (IOException ex) {
        log.warn("{}: settling hold {} not written (counted in full until the next write): {}", file, hold.id(),
            ex.getMessage());
      }
    }
  }

  /** Unspent tokens in {@code tenant}'s leases valid now. */
  public long unspent(String tenant) {
    requireNonNull(tenant, "tenant");
    Instant now = clock.instant();
    synchronized (lock) {
      return unspentLocked(tenant, now);
    }
  }

  @GuardedBy("lock")
  private long unspentLocked(String tenant, Instant now) {
    long left = 0;
    for (Entry e : entries.values()) {
      if (e.lease.tenant().equals(tenant) && e.lease.validAt(now)) {
        left += Math.max(0, e.unspent());
      }
    }
    return left;
  }

  /** Whether {@code tenant} has a valid lease that stays valid past {@code until}. */
  public boolean validBeyond(String tenant, Instant until) {
    synchronized (lock) {
      return entries.values().stream().anyMatch(e -> e.lease.tenant().equals(tenant) && e.lease.validAt(until));
    }
  }

  /** Tokens spent (settled, or held by a crashed run) from lease {@code leaseId}; 0 when unknown. */
  public long spent(String leaseId) {
    synchronized (lock) {
      Entry e = entries.get(leaseId);
      return e == null ? 0 : e.spent;
    }
  }

  /** Tokens spent from every lease of {@code tenant} held now. */
  public long spentBy(String tenant) {
    synchronized (lock) {
      return entries.values().stream().filter(e -> e.lease.tenant().equals(tenant)).mapToLong(e -> e.spent).sum();
    }
  }

  /** The ids of the leases held, in the order they came. */
  public List<String> leaseIds() {
    synchronized (lock) {
      return List.copyOf(entries.keySet());
    }
  }

  /**
   * The leases whose spending the core has not confirmed, or that expired and are not closed yet
   * (the core closes a lease at a report after it expired).
   */
  public List<String> unreported() {
    Instant now = clock.instant();
    synchronized (lock) {
      List<String> ids = new ArrayList<>();
      for (Entry e : entries.values()) {
        if (e.spent > e.acknowledged || !e.lease.validAt(now) && e.reserved == 0) {
          ids.add(e.lease.id());
        }
      }
      return ids;
    }
  }

  /**
   * The next report of lease {@code leaseId}: the cumulative tokens spent, numbered one above the
   * last sequence the core answered. Nothing is written: a report that got no receipt (lost, or
   * the device died) is sent again under the same number, which the core counts at most once — and
   * since it carries the total, a receipt showing less than was spent makes the next report, under
   * a new number, carry the rest.
   */
  public Optional<Report> nextReport(String leaseId) {
    synchronized (lock) {
      Entry e = entries.get(leaseId);
      return e == null ? Optional.empty() : Optional.of(new Report(leaseId, e.sequence + 1, e.spent));
    }
  }

  /**
   * Records the core's receipt of report {@code sequence} of {@code leaseId}: {@code charged} tokens
   * confirmed; {@code closed}: the core takes no more reports, the lease is forgotten.
   */
  public void acknowledged(String leaseId, long sequence, long charged, boolean closed) throws IOException {
    synchronized (lock) {
      Entry e = entries.get(leaseId);
      if (e == null) {
        return;
      }
      if (closed && e.reserved == 0) {
        entries.remove(leaseId);
      } else {
        e.sequence = Math.max(e.sequence, sequence);
        e.acknowledged = Math.max(e.acknowledged, charged);
      }
      writeLocked();
    }
  }

  /** Forgets {@code leaseId} (the core no longer knows it); its unreported spend is lost to the core. */
  public void forget(String leaseId) throws IOException {
    synchronized (lock) {
      Entry e = entries.get(leaseId);
      if (e != null && e.reserved == 0) {
        entries.remove(leaseId);
        writeLocked();
      }
    }
  }

  @GuardedBy("lock")
  private void writeLocked() throws IOException {
    ObjectNode root = JSON.createObjectNode().put("format", FORMAT);
    ArrayNode leases = root.putArray("leases");
    for (Entry e : entries.values()) {
      leases.addObject()
          .put("id", e.lease.id())
          .put("tenant", e.lease.tenant())
          .put("tokens", e.lease.tokens())
          .put("not_after", e.lease.notAfter().toString())
          .put("spent", e.spent)
          .put("reserved", e.reserved)
          .put("sequence", e.sequence)
          .put("acknowledged", e.acknowledged)
          .put("signed", Base64.getEncoder().encodeToString(e.lease.signed().toByteArray()));
    }
    file.write(JSON.writeValueAsBytes(root));
  }

  @Override
  public String toString() {
    return "LeaseWallet[" + file + "]";
  }
}
