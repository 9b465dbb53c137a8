/**
 * What every node's {@code infermesh.v1.Admin} service shares: the checked form of a swap order
 * ({@link io.infermesh.node.admin.SwapOrder}) and the node's place in rotation
 * ({@link io.infermesh.node.admin.Rotation}: drained or not, calls in flight). No transport
 * beyond a gRPC interceptor; the services themselves live with the node that serves them.
 */
package io.infermesh.node.admin;
