package io.infermesh.xds.server;

import java.time.Instant;
import java.util.List;

/**
 * What one connected xDS stream has been sent and has acknowledged, per resource type; the admin
 * endpoint serves these as JSON.
 *
 * @param nodeId the node's id from its bootstrap
 * @param group the node group it receives ({@code envoy/eu-west}, {@code grpc/*}, ...)
 * @param streamId the server's id for the stream
 * @param peer the SPIFFE ID the client authenticated with; empty on plaintext loopback
 * @param connectedAt when the stream opened
 * @param types one entry per resource type the node subscribed to
 */
public record NodeStatus(
    String nodeId, String group, long streamId, String peer, Instant connectedAt, List<TypeStatus> types) {

  /** Whether the node's latest answer to any type was a NACK. */
  public boolean nacking() {
    return types.stream().anyMatch(TypeStatus::nacked);
  }

  /** The status for one type ({@code CLUSTER}, {@code ENDPOINT}, {@code LISTENER}, {@code ROUTE}, {@code SECRET}). */
  public TypeStatus type(String type) {
    return types.stream().filter(t -> t.type().equals(type)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("node " + nodeId + " has no " + type + " subscription"));
  }

  /**
   * @param type resource type name
   * @param sentVersion the last version sent
   * @param ackedVersion the last version the node accepted (empty before the first ACK)
   * @param ackedAt when it accepted it
   * @param acks how many responses it accepted
   * @param nacks how many it rejected
   * @param nacked whether its answer to the last response sent was a NACK
   * @param lastNack the last rejection, null if none
   */
  public record TypeStatus(
      String type, String sentVersion, String ackedVersion, Instant ackedAt, long acks, long nacks,
      boolean nacked, Nack lastNack) {}

  /**
   * @param version the rejected version
   * @param message the client's error detail
   * @param at when the NACK arrived
   */
  public record Nack(String version, String message, Instant at) {}
}
