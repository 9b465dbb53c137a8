/**
 * Reads {@code mesh.yaml} into immutable, validated records ({@link io.infermesh.xds.config.MeshConfig}).
 * Every key has a default; an unknown key, a wrong type or an invalid value fails with the key's
 * path and the reason. The embedded default ({@code default-mesh.yaml}) serves a loopback-only
 * demo mesh.
 */
package io.infermesh.xds.config;
