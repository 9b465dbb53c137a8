package io.infermesh.xds.server;

/** {@link LocalityRoutingContract} for a proxyless client in us-east (own JVM); the assertions are the contract's. */
class LocalityRoutingUsEastXdsClientTest extends LocalityRoutingContract {
  LocalityRoutingUsEastXdsClientTest() {
    super(io.infermesh.xds.testing.TestMeshes.US, io.infermesh.xds.testing.TestMeshes.EU);
  }
}
