package io.infermesh.edge.lease;

import io.infermesh.certs.MeshSignatures;
import io.infermesh.certs.SpiffeId;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The child of {@link LeaseWalletKillTest}: spends a wallet's lease as a serving edge would — a
 * hold made durable, then "served", then settled for a little less — printing each step after it
 * returned, until the lease is spent; then waits to be killed.
 *
 * <p>Arguments: wallet file, trust bundle, device SPIFFE ID, tenant, tokens per hold.
 */
public final class WalletSpenderProcess {
  private WalletSpenderProcess() {}

  public static void main(String[] args) throws Exception {
    LeaseVerifier verifier = LeaseVerifier.of(MeshSignatures.verifier(Path.of(args[1])), SpiffeId.parse(args[2]));
    LeaseWallet wallet = LeaseWallet.open(Path.of(args[0]), verifier, Clock.systemUTC());
    String tenant = args[3];
    long hold = Long.parseLong(args[4]);
    LeaseWallet.Spend spend;
    while ((spend = wallet.reserve(tenant, hold)) instanceof LeaseWallet.Spend.Reserved r) {
      System.out.println("held " + r.hold().id() + " " + hold); // durable before this line: may serve now
      System.out.flush();
      wallet.settle(r.hold(), hold - 1);
      System.out.println("settled " + r.hold().id() + " " + (hold - 1));
      System.out.flush();
    }
    System.out.println("refused");
    System.out.flush();
    Thread.currentThread().join(); // until killed
  }
}
