/**
 * Reads {@code mesh.yaml} into immutable, validated records ({@link io.infermesh.xds.config.MeshConfig})
 * with node's one config reader ({@link io.infermesh.node.config.ConfigSection}), as {@code
 * edge.yaml} and {@code core.yaml} are read. Every key has a default; an unknown key, a wrong type
 * or an invalid value fails with a {@link io.infermesh.node.config.ConfigException} naming the
 * file, the full key path and the reason. The embedded default ({@code default-mesh.yaml}) serves a loopback-only
 * demo mesh.
 */
package io.infermesh.xds.config;
