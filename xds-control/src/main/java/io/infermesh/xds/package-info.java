/** The xDS control plane: discovery from Consul and mesh.yaml, a pure snapshot builder, and the ADS/SDS server (see issue 6). */
package io.infermesh.xds;
