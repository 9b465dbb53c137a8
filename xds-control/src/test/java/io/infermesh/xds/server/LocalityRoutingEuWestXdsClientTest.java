package io.infermesh.xds.server;

/** {@link LocalityRoutingContract} for a proxyless client in eu-west (own JVM); the assertions are the contract's. */
class LocalityRoutingEuWestXdsClientTest extends LocalityRoutingContract {
  LocalityRoutingEuWestXdsClientTest() {
    super(io.infermesh.xds.testing.TestMeshes.EU, io.infermesh.xds.testing.TestMeshes.US);
  }
}
